import "server-only";
import { randomUUID } from "node:crypto";
import type { GenerateResponse } from "@/lib/schemas";
import type { GatewayDeps } from "@/lib/gateway/deps";
import type { Identity } from "@/lib/gateway/identity";
import { DEFAULT_MODEL, generate } from "@/lib/gateway/model";
import { policyFor, type Policy } from "@/lib/gateway/policy";
import { cacheTag, hashPrompt } from "@/lib/gateway/prompt-cache";
import { recordLatency } from "@/lib/gateway/latency";
import { decideRequest, type Decision } from "@/lib/gateway/rate-limit";
import { parseCachedEntry, storeMiss } from "@/lib/gateway/store";

/**
 * The request path, in order: policy → decide (rate limit + cache lookup,
 * one round trip) → on a miss, the model and the store (a second round trip).
 * It chains the steps and does nothing else.
 */

export type GatewayResult =
  | { kind: "blocked"; requestId: string; identity: Identity; decision: Decision; latencyMs: number }
  | { kind: "hit" | "miss"; requestId: string; identity: Identity; decision: Decision; body: GenerateResponse }
  | { kind: "degraded"; requestId: string; identity: Identity; policy: Policy; body: GenerateResponse }
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
  if (result.kind === "hit" || result.kind === "miss" || result.kind === "blocked") {
    recordLatency(result.kind, performance.now() - started);
  }
  return result;
}

async function decideAndServe(input: GatewayInput): Promise<GatewayResult> {
  const { deps, identity, prompt } = input;
  const { config } = deps;
  const started = performance.now();
  const requestId = input.requestId ?? randomUUID();
  const model = input.model ?? DEFAULT_MODEL;
  const policy = policyFor(identity.tier, {
    limit: config.RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
  });
  const promptHash = hashPrompt(prompt, model);
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;

  let decision: Decision;
  try {
    const client = await deps.valkey();
    decision = await decideRequest({
      client,
      keys: deps.keys,
      shards: config.VALKEY_SHARDS,
      identity,
      policy,
      requestId,
      promptHash,
      streamCap: config.STREAM_MAXLEN,
      now: deps.now(),
    });
  } catch (error) {
    if (config.FAIL_MODE === "closed") return { kind: "unavailable", requestId, identity, policy, error };
    // Fail open: serve without limit or cache, and say so.
    const generation = await generate(prompt, model, config.SIMULATED_LATENCY_MS);
    return {
      kind: "degraded",
      requestId,
      identity,
      policy,
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
        degraded: "valkey-unavailable; served without rate limit or cache (FAIL_MODE=open)",
      },
    };
  }

  const rateLimit = {
    limit: decision.limit,
    remaining: decision.remaining,
    resetAt: decision.resetAt,
    windowMs: decision.windowMs,
    policy: decision.policy,
  };

  if (!decision.allowed) {
    return { kind: "blocked", requestId, identity, decision, latencyMs: elapsed() };
  }

  const entry = decision.cached ? parseCachedEntry(decision.cached) : null;
  if (entry) {
    return {
      kind: "hit",
      requestId,
      identity,
      decision,
      body: {
        response: entry.response,
        cached: true,
        model: entry.model,
        rateLimit,
        usage: entry.usage,
        latencyMs: elapsed(),
        requestId,
        identity: identity.id,
        tier: identity.tier,
        cacheKey: cacheTag(promptHash),
        saved: { tokens: entry.usage.totalTokens, latencyMs: entry.latencyMs },
      },
    };
  }

  const generation = await generate(prompt, model, config.SIMULATED_LATENCY_MS);
  try {
    const client = await deps.valkey();
    await storeMiss({
      client,
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
    });
  } catch (error) {
    // The answer is good; only its caching failed. Serve it and say why in the log.
    console.warn(`[flowgate] could not cache ${cacheTag(promptHash)}: ${(error as Error).message}`);
  }
  return {
    kind: "miss",
    requestId,
    identity,
    decision,
    body: {
      response: generation.response,
      cached: false,
      model,
      rateLimit,
      usage: generation.usage,
      latencyMs: elapsed(),
      requestId,
      identity: identity.id,
      tier: identity.tier,
      cacheKey: cacheTag(promptHash),
    },
  };
}
