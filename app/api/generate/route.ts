import { getConfig } from "@/lib/config";
import { GatewayError } from "@/lib/errors";
import { identifyCaller } from "@/lib/gateway/auth";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { limitHeaders } from "@/lib/gateway/headers";
import type { Decision } from "@/lib/gateway/rate-limit";
import { runGateway } from "@/lib/gateway/pipeline";
import { errorResponse, jsonResponse, methodNotAllowed, parseJsonBody } from "@/lib/http";
import { generateRequestSchema } from "@/lib/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** The plan's limits as the body shows them. */
function limitsOf(d: Decision) {
  return d.dimensions.map((x) => ({
    policy: x.name,
    dimension: x.kind,
    algorithm: x.algorithm,
    limit: x.limit,
    remaining: x.remaining,
    resetAt: x.resetAt,
    windowMs: x.windowMs,
  }));
}

const headersOf = (d: Decision, now: number) => limitHeaders(d.dimensions, d, now);

const UNITS = { requests: "requests", tokens: "tokens", daily: "requests" } as const;

export async function POST(request: Request): Promise<Response> {
  try {
    const config = getConfig();
    const identity = await identifyCaller(request.headers, getGatewayDeps());
    const body = await parseJsonBody(request, generateRequestSchema, { maxBytes: config.MAX_BODY_BYTES });
    const deps = getGatewayDeps();
    const result = await runGateway({ deps, identity, prompt: body.prompt, model: body.model });
    const now = deps.now();
    const base = { "X-Request-Id": result.requestId, "X-Flowgate-Identity": result.identity.id };

    switch (result.kind) {
      case "blocked": {
        const d = result.decision;
        const refused = d.refused ?? d.dimensions[0];
        const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
        const window = refused?.kind === "daily" ? "day (UTC)" : `${Math.round(d.windowMs / 1000)} s`;
        const needs =
          refused && refused.cost > 1 ? ` This request needs ${refused.cost} ${UNITS[refused.kind]}; ${refused.remaining} left.` : "";
        return jsonResponse(
          {
            error: "Rate limit exceeded",
            code: "rate_limited",
            message: `${d.limit} ${UNITS[refused?.kind ?? "requests"]} per ${window} allowed for ${result.identity.id} (policy ${d.policy}).${needs} Try again in ${retryAfterSeconds} s.`,
            retryAfter: new Date(now + retryAfterSeconds * 1000).toISOString(),
            retryAfterSeconds,
            policy: d.policy,
            dimension: refused?.kind ?? "requests",
            limit: d.limit,
            windowMs: d.windowMs,
            identity: result.identity.id,
            requestId: result.requestId,
            limits: limitsOf(d),
            ...(result.degraded ? { degraded: "valkey-unavailable; refused by this instance's in-process fallback limiter" } : {}),
          },
          {
            status: 429,
            headers: {
              ...base,
              ...headersOf(d, now),
              ...(result.degraded ? { "X-Flowgate-Degraded": "fail-open" } : {}),
            },
          },
        );
      }
      case "hit":
      case "miss":
        return jsonResponse(
          { ...result.body, rateLimit: result.body.rateLimit && { ...result.body.rateLimit, dimensions: limitsOf(result.decision) } },
          {
            headers: {
              ...base,
              ...headersOf(result.decision, now),
              "X-Cache": result.kind === "hit" ? "HIT" : "MISS",
              ...(result.coalesced ? { "X-Flowgate-Coalesced": "1" } : {}),
            },
          },
        );
      case "degraded":
        return jsonResponse(result.body, {
          headers: { ...base, ...headersOf(result.decision, now), "X-Cache": "BYPASS", "X-Flowgate-Degraded": "fail-open" },
        });
      case "unavailable": {
        const cause = result.error instanceof Error ? result.error.message : String(result.error);
        throw new GatewayError(
          "valkey_unavailable",
          `The gateway cannot reach Valkey and FAIL_MODE=closed refuses to serve unlimited requests. ${cause}`,
          { requestId: result.requestId },
        );
      }
    }
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["POST"]);
export { notAllowed as GET, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
