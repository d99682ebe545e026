import "server-only";
import { randomUUID } from "node:crypto";
import type { GenerateResponse } from "@/lib/schemas";
import { BreakerOpenError } from "@/lib/gateway/breaker";
import { shareGeneration, waitForGeneration, waitersOf } from "@/lib/gateway/coalesce";
import { policyOverrides, type GatewayDeps } from "@/lib/gateway/deps";
import type { Identity } from "@/lib/gateway/identity";
import { DEFAULT_MODEL, estimateTokens, generate } from "@/lib/gateway/model";
import { policyFor, type Policy } from "@/lib/gateway/policy";
import { cacheTag, hashPrompt } from "@/lib/gateway/prompt-cache";
import { recordLatency } from "@/lib/gateway/latency";
import { decideRequest, type Decision } from "@/lib/gateway/rate-limit";
import { parseCachedEntry, storeMiss, type CachedEntry } from "@/lib/gateway/store";
import { lookupPromptCache } from "@/lib/gateway/cluster-cache";
import { isClusterClient } from "@/lib/valkey/client";

/** A waiter found the generation lock free and took it: it generates now. */
const TOOK_OVER = Symbol("took-over");

/**
 * The request path, in order: policy → decide (every limit + cache lookup +
 * generation lock, one round trip, behind the circuit breaker) → on a miss,
 * the model and the store (a second round trip), or, when another request is
 * already generating the same prompt, its answer. When Valkey is unusable
 * the tier's fail mode decides: the in-process fallback limiter (open) or a
 * 503 (closed). It chains the steps and does nothing else.
 */

export type GatewayResult =
  | { kind: "blocked"; requestId: string; identity: Identity; decision: Decision; latencyMs: number; degraded?: boolean }
  | {
      kind: "hit" | "miss";
      requestId: string;
      identity: Identity;
      decision: Decision;
      body: GenerateResponse;
      /** Answered by waiting for another request's generation of the same prompt. */
      coalesced?: boolean;
    }
  | { kind: "degraded"; requestId: string; identity: Identity; policy: Policy; decision: Decision; body: GenerateResponse }
  | { kind: "unavailable"; requestId: string; identity: Identity; policy: Policy; error: unknown };

export interface GatewayInput {
  deps: GatewayDeps;
  identity: Identity;
  prompt: string;
  model?: string;
  requestId?: string;
}

export async function runGateway(input: GatewayInput): Promise<GatewayResult> {
  const started = performance.now();
  const result = await decideAndServe(input);
  // A coalesced hit waited for another request's generation: it is neither a
  // cache hit's latency nor a model call's, so it stays out of both.
  const coalesced = result.kind === "hit" && result.coalesced === true;
  if ((result.kind === "hit" && !coalesced) || result.kind === "miss" || result.kind === "blocked") {
    recordLatency(result.kind, performance.now() - started);
  }
  return result;
}

async function decideAndServe(input: GatewayInput): Promise<GatewayResult> {
  const { deps, identity, prompt } = input;
  const { config, metrics } = deps;
  const started = performance.now();
  const requestId = input.requestId ?? randomUUID();
  const model = input.model ?? DEFAULT_MODEL;
  const policy = policyFor(identity.tier, policyOverrides(config));
  const promptHash = hashPrompt(prompt, model);
  const promptTokens = estimateTokens(prompt);
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  const count = (outcome: string) => metrics.decisions.inc({ outcome, tier: identity.tier });

  let decision: Decision;
  try {
    decision = await deps.breaker.run(async () =>
      decideRequest({
        client: await deps.valkey(),
        keys: deps.keys,
        shards: config.VALKEY_SHARDS,
        identity,
        policy,
        requestId,
        promptHash,
        promptTokens,
        streamCap: config.STREAM_MAXLEN,
        lockTtlMs: config.STAMPEDE_LOCK_MS,
        now: deps.now(),
      }),
    );
    metrics.decisionSeconds.observe({ path: "valkey" }, (performance.now() - started) / 1000);
  } catch (error) {
    if (!(error instanceof BreakerOpenError)) metrics.valkeyErrors.inc({ operation: "decide" });
    if (policy.failMode === "closed") {
      count("unavailable");
      return { kind: "unavailable", requestId, identity, policy, error };
    }
    // Fail open, but not unlimited: the same limits, counted in this process.
    const fallback = deps.fallback.decide(identity.id, policy, promptTokens, deps.now());
    metrics.decisionSeconds.observe({ path: "fallback" }, (performance.now() - started) / 1000);
    const deciding = fallback.refused ?? fallback.dimensions[0]!;
    const fallbackDecision: Decision = {
      allowed: fallback.allowed,
      inWindow: deciding.used,
      limit: deciding.limit,
      remaining: deciding.remaining,
      resetAt: deciding.resetAt,
      retryAfterMs: fallback.refused?.retryAfterMs ?? 0,
      windowMs: deciding.windowMs,
      policy: deciding.name,
      cached: null,
      dimensions: fallback.dimensions,
      refused: fallback.refused,
      lock: "none",
    };
    if (!fallback.allowed) {
      count("fallback_blocked");
      metrics.refusals.inc({ policy: fallbackDecision.policy });
      return { kind: "blocked", requestId, identity, decision: fallbackDecision, latencyMs: elapsed(), degraded: true };
    }
    count("fallback_allowed");
    const generation = await generate(prompt, model, config.SIMULATED_LATENCY_MS);
    return {
      kind: "degraded",
      requestId,
      identity,
      policy,
      decision: fallbackDecision,
      body: {
        response: generation.response,
        cached: false,
        model,
        rateLimit: null,
        usage: generation.usage,
        latencyMs: elapsed(),
        requestId,
        identity: identity.id,
        tier: identity.tier,
        cacheKey: cacheTag(promptHash),
        degraded:
          "valkey-unavailable; served without cache, limited by this instance's in-process fallback limiter (FAIL_MODE=open)",
      },
    };
  }

  if (!decision.allowed) {
    count("blocked");
    metrics.refusals.inc({ policy: decision.policy });
    return { kind: "blocked", requestId, identity, decision, latencyMs: elapsed() };
  }

  const rateLimit = {
    limit: decision.limit,
    remaining: decision.remaining,
    resetAt: decision.resetAt,
    windowMs: decision.windowMs,
    policy: decision.policy,
  };
  const answer = (entry: CachedEntry, kind: "hit" | "miss", coalesced: boolean): GatewayResult => ({
    kind,
    requestId,
    identity,
    decision,
    coalesced: coalesced || undefined,
    body: {
      response: entry.response,
      cached: kind === "hit",
      model: entry.model,
      rateLimit,
      usage: entry.usage,
      latencyMs: elapsed(),
      requestId,
      identity: identity.id,
      tier: identity.tier,
      cacheKey: cacheTag(promptHash),
      ...(kind === "hit" ? { saved: { tokens: entry.usage.totalTokens, latencyMs: entry.latencyMs } } : {}),
      ...(coalesced ? { coalesced: true } : {}),
    },
  });

  const entry = decision.cached ? parseCachedEntry(decision.cached) : null;
  if (entry) {
    count("hit");
    metrics.cache.inc({ result: "hit" });
    return answer(entry, "hit", false);
  }

  // Another request holds this prompt's generation lock: wait for its answer.
  let tookOver = false;
  if (decision.lock === "coalesced") {
    const shared = await waitForGeneration<CachedEntry | typeof TOOK_OVER>({
      promptHash,
      waitMs: config.STAMPEDE_WAIT_MS,
      read: async () => {
        const found = await deps.breaker.run(async () => {
          const client = await deps.valkey();
          if (!isClusterClient(client)) return { cached: await client.get(deps.keys.cache(promptHash)), lock: "none" };
          // Cluster: the lock was taken before the limits were checked, and a refused
          // owner gives it back; the first waiter to find it free takes it over.
          return lookupPromptCache({ client, keys: deps.keys, promptHash, requestId, lockTtlMs: config.STAMPEDE_LOCK_MS });
        });
        if (found.cached) return parseCachedEntry(found.cached);
        return found.lock === "owner" ? TOOK_OVER : null;
      },
    });
    if (shared === TOOK_OVER) tookOver = true;
    else if (shared) {
      count("coalesced");
      metrics.cache.inc({ result: "coalesced" });
      return answer(shared, "hit", true);
    }
  }

  // This request generates: the lock's owner, or a waiter whose wait ran out.
  const wasCoalesced = decision.lock === "coalesced";
  const produce = async (): Promise<CachedEntry> => {
    const generation = await generate(prompt, model, config.SIMULATED_LATENCY_MS);
    const own: CachedEntry = { ...generation, createdAt: deps.now() };
    try {
      return await deps.breaker.run(async () =>
        storeMiss({
          client: await deps.valkey(),
          keys: deps.keys,
          shards: config.VALKEY_SHARDS,
          identity,
          decision,
          requestId,
          promptHash,
          generation,
          ttlSeconds: config.CACHE_TTL_SECONDS,
          streamCap: config.STREAM_MAXLEN,
          now: deps.now(),
          wasCoalesced,
          ownsLock: decision.lock === "owner" || tookOver,
          creditWaiters: waitersOf(promptHash),
        }),
      );
    } catch (error) {
      // The answer is good; only its caching failed. Serve it and say why in the log.
      if (!(error instanceof BreakerOpenError)) metrics.valkeyErrors.inc({ operation: "store" });
      console.warn(`[flowgate] could not cache ${cacheTag(promptHash)}: ${(error as Error).message}`);
      return own;
    }
  };
  // Same-process duplicates that arrive while this runs join it instead of generating.
  const generated = await shareGeneration(promptHash, produce);
  count("miss");
  metrics.cache.inc({ result: "miss" });
  return answer(generated, "miss", false);
}
