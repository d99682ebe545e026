import "server-only";
import type { Config } from "@/lib/config";
import { GatewayError, isGatewayError } from "@/lib/errors";
import { parseCacheControl } from "@/lib/gateway/cache-control";
import { limitHeaders } from "@/lib/gateway/headers";
import type { Identity } from "@/lib/gateway/identity";
import type { GatewayRequest, GatewayResult } from "@/lib/gateway/pipeline";
import { cacheTag } from "@/lib/gateway/prompt-cache";
import type { Decision } from "@/lib/gateway/rate-limit";
import { defaultModel } from "@/lib/gateway/upstreams";
import { jsonResponse } from "@/lib/http";
import { isValkeyOutOfMemory } from "@/lib/valkey/client";
import type { GenerateRequest } from "@/lib/schemas";

/**
 * The generate dialect (TokenFlow's): `{prompt, model?}` in, one JSON
 * answer out with the rate-limit state in the body. Its errors are
 * `{error, code, message?, ...details}`.
 */

export function fromGenerateBody(body: GenerateRequest, identity: Identity, headers: Headers, config: Config, signal?: AbortSignal): GatewayRequest {
  const model = body.model ?? defaultModel(config);
  if (!model) throw new GatewayError("invalid_body", "model is required: this gateway forwards to an upstream and has no DEFAULT_MODEL");
  return {
    door: "generate",
    identity,
    model,
    messages: [{ role: "user", content: body.prompt }],
    cache: parseCacheControl(headers.get("cache-control")),
    signal,
  };
}

/** The plan's limits as the body shows them. */
export function limitsOf(d: Decision) {
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

/**
 * Why the gateway cannot limit requests now, in words of its own: a
 * GatewayError's sentence is ours (a refused password, a server not ready),
 * anything else is ioredis's or the OS's and stays in the log.
 */
export function unavailableSentence(error: unknown): string {
  if (isValkeyOutOfMemory(error)) {
    return "Valkey is out of memory and its maxmemory-policy evicts nothing, so the gateway cannot record decisions, and FAIL_MODE=closed refuses to serve requests it cannot limit. Try again shortly.";
  }
  const cause = isGatewayError(error) ? ` ${error.message}.`.replace(/\.\.$/, ".") : "";
  return `The gateway cannot reach Valkey, and FAIL_MODE=closed refuses to serve requests it cannot limit.${cause} Try again shortly.`;
}

const UNITS = { requests: "requests", tokens: "tokens", daily: "requests" } as const;

/** The 429 body's sentence: which limit, for whom, and when (or that it never fits). */
export function refusalMessage(result: Extract<GatewayResult, { kind: "blocked" }>, retryAfterSeconds: number): string {
  const d = result.decision;
  const refused = d.refused ?? d.dimensions[0];
  const unit = UNITS[refused?.kind ?? "requests"];
  const window = refused?.kind === "daily" ? "day (UTC)" : `${Math.round(d.windowMs / 1000)} s`;
  const head = `${d.limit} ${unit} per ${window} allowed for ${result.identity.id} (policy ${d.policy}).`;
  if (result.neverFits && refused) {
    return `${head} This request needs ${refused.cost} ${unit}, more than the whole limit: it can never fit. Ask for fewer tokens (max_tokens) or a shorter prompt; retrying will not help.`;
  }
  const needs = refused && refused.cost > 1 ? ` This request needs ${refused.cost} ${unit}; ${refused.remaining} left.` : "";
  return `${head}${needs} Try again in ${retryAfterSeconds} s.`;
}

export async function shapeGenerateResult(result: GatewayResult, now: number): Promise<Response> {
  const base = { "X-Request-Id": result.requestId, "X-Flowgate-Identity": result.identity.id };
  const elapsed = () => Math.round((performance.now() - result.startedAt) * 100) / 100;
  switch (result.kind) {
    case "blocked": {
      const d = result.decision;
      const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
      return jsonResponse(
        {
          error: "Rate limit exceeded",
          code: "rate_limited",
          message: refusalMessage(result, retryAfterSeconds),
          retryAfter: new Date(now + retryAfterSeconds * 1000).toISOString(),
          retryAfterSeconds,
          ...(result.neverFits ? { retryable: false } : {}),
          policy: d.policy,
          dimension: d.refused?.kind ?? "requests",
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
            ...limitHeaders(d.dimensions, d, now),
            ...(result.neverFits ? { "x-should-retry": "false" } : {}),
            ...(result.degraded ? { "X-Flowgate-Degraded": "fail-open" } : {}),
          },
        },
      );
    }
    case "unavailable":
      throw new GatewayError("valkey_unavailable", unavailableSentence(result.error), {
        requestId: result.requestId,
        retryAfterSeconds: Math.max(1, Math.ceil(result.retryAfterMs / 1000)),
      });
    case "hit":
    case "miss":
    case "degraded": {
      const entry = await result.generation.done;
      const d = result.decision;
      const degraded = result.kind === "degraded";
      const hit = result.kind === "hit";
      const coalesced = result.kind !== "degraded" && result.coalesced === true;
      return jsonResponse(
        {
          response: entry.response,
          cached: hit,
          model: entry.model,
          rateLimit: degraded
            ? null
            : { limit: d.limit, remaining: d.remaining, resetAt: d.resetAt, windowMs: d.windowMs, policy: d.policy, dimensions: limitsOf(d) },
          usage: entry.usage,
          latencyMs: elapsed(),
          requestId: result.requestId,
          identity: result.identity.id,
          tier: result.identity.tier,
          cacheKey: cacheTag(result.promptHash),
          ...(hit ? { saved: { tokens: entry.usage.totalTokens, latencyMs: entry.latencyMs } } : {}),
          ...(coalesced ? { coalesced: true } : {}),
          ...(degraded
            ? { degraded: "valkey-unavailable; served without cache, limited by this instance's in-process fallback limiter (FAIL_MODE=open)" }
            : {}),
        },
        {
          headers: {
            ...base,
            ...limitHeaders(d.dimensions, d, now),
            "X-Cache": result.kind === "degraded" ? "BYPASS" : result.cacheStatus,
            ...(coalesced ? { "X-Flowgate-Coalesced": "1" } : {}),
            ...(degraded ? { "X-Flowgate-Degraded": "fail-open" } : {}),
          },
        },
      );
    }
  }
}
