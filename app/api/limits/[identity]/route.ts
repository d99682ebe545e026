import { requireAdmin } from "@/lib/admin";
import { GatewayError } from "@/lib/errors";
import { getGatewayDeps, policyOverrides } from "@/lib/gateway/deps";
import { parseIdentityLabel } from "@/lib/gateway/identity";
import { policyFor } from "@/lib/gateway/policy";
import { allLimitKeys, peekLimits } from "@/lib/gateway/rate-limit";
import { errorResponse, jsonResponse, methodNotAllowed } from "@/lib/http";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * GET: what is left of every limit of one identity, without consuming.
 * DELETE: reset them. Both need ADMIN_TOKEN (lib/admin.ts). The identity is
 * a label as the stream shows it: `ip:<addr>`, `key:<12-hex hash>`,
 * `sim:<tier>:<n>`; never a raw API key.
 */

type Context = { params: Promise<{ identity: string }> };

/** Next.js may hand the segment over still percent-encoded; a malformed escape is kept as typed (then 404). */
function decodeLabel(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

async function resolve(request: Request, context: Context) {
  const deps = getGatewayDeps();
  requireAdmin(request.headers, deps.config);
  const label = decodeLabel((await context.params).identity);
  const identity = parseIdentityLabel(label, deps.config.API_KEYS, { ipv6PrefixBits: deps.config.IPV6_PREFIX_BITS });
  if (!identity) {
    throw new GatewayError(
      "not_found",
      "Unknown identity. Use ip:<address> (ip:<network>/<bits> for IPv6), key:<12-hex hash of a configured key> or sim:<tier>:<n>.",
      { identity: label },
    );
  }
  const client = await deps.valkey();
  return { deps, identity, client };
}

export async function GET(request: Request, context: Context): Promise<Response> {
  try {
    const { deps, identity, client } = await resolve(request, context);
    const policy = policyFor(identity.tier, policyOverrides(deps.config));
    const now = deps.now();
    const limits = await peekLimits({ client, keys: deps.keys, shards: deps.config.VALKEY_SHARDS, identity: identity.id, policy, now });
    return jsonResponse({
      identity: identity.id,
      tier: identity.tier,
      failMode: policy.failMode,
      timestamp: new Date(now).toISOString(),
      limits: limits.map((d) => ({
        policy: d.name,
        dimension: d.kind,
        algorithm: d.algorithm,
        limit: d.limit,
        remaining: d.remaining,
        used: d.used,
        resetAt: d.resetAt,
        windowMs: d.windowMs,
      })),
    });
  } catch (error) {
    return errorResponse(error);
  }
}

export async function DELETE(request: Request, context: Context): Promise<Response> {
  try {
    const { deps, identity, client } = await resolve(request, context);
    // Every dimension under every algorithm: a reset also clears state left by an older configuration.
    const deleted = await client.del(...allLimitKeys(deps.keys, deps.config.VALKEY_SHARDS, identity.id));
    return jsonResponse({ identity: identity.id, tier: identity.tier, reset: true, deletedKeys: deleted });
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["GET", "DELETE"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH };
