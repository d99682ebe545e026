import { getConfig } from "@/lib/config";
import { GatewayError } from "@/lib/errors";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { rateLimitHeaders } from "@/lib/gateway/headers";
import { resolveIdentity } from "@/lib/gateway/identity";
import { runGateway } from "@/lib/gateway/pipeline";
import { errorResponse, jsonResponse, methodNotAllowed, parseJsonBody } from "@/lib/http";
import { generateRequestSchema } from "@/lib/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request): Promise<Response> {
  try {
    const config = getConfig();
    const identity = resolveIdentity(request.headers, { apiKeys: config.API_KEYS, trustProxy: config.TRUST_PROXY });
    const body = await parseJsonBody(request, generateRequestSchema, { maxBytes: config.MAX_BODY_BYTES });
    const deps = getGatewayDeps();
    const result = await runGateway({ deps, identity, prompt: body.prompt, model: body.model });
    const now = deps.now();
    const base = { "X-Request-Id": result.requestId, "X-Flowgate-Identity": result.identity.id };

    switch (result.kind) {
      case "blocked": {
        const d = result.decision;
        const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
        return jsonResponse(
          {
            error: "Rate limit exceeded",
            code: "rate_limited",
            message: `${d.limit} requests per ${Math.round(d.windowMs / 1000)} s allowed for ${result.identity.id} (${d.policy}); try again in ${retryAfterSeconds} s.`,
            retryAfter: new Date(now + retryAfterSeconds * 1000).toISOString(),
            retryAfterSeconds,
            policy: d.policy,
            limit: d.limit,
            windowMs: d.windowMs,
            identity: result.identity.id,
            requestId: result.requestId,
          },
          { status: 429, headers: { ...base, ...rateLimitHeaders(d, now) } },
        );
      }
      case "hit":
      case "miss":
        return jsonResponse(result.body, {
          headers: {
            ...base,
            ...rateLimitHeaders(result.decision, now),
            "X-Cache": result.kind === "hit" ? "HIT" : "MISS",
          },
        });
      case "degraded":
        return jsonResponse(result.body, {
          headers: { ...base, "X-Cache": "BYPASS", "X-Flowgate-Degraded": "fail-open" },
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
