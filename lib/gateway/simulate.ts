import "server-only";
import { isGatewayError, upstreamFailure } from "@/lib/errors";
import { isUpstreamError } from "@/lib/gateway/upstreams/types";
import type { GatewayDeps } from "@/lib/gateway/deps";
import type { Identity } from "@/lib/gateway/identity";
import { DEFAULT_MODEL } from "@/lib/gateway/model";
import { runGatewayToEnd } from "@/lib/gateway/pipeline";
import { defaultModel } from "@/lib/gateway/upstreams";
import type { SimulateRequest, SimulateResult, SimulateSummary } from "@/lib/schemas";
import { TIER_NAMES, type TierName } from "@/lib/tiers";
import { WINDOW_EXPIRY_MARGIN_MS, shardOf } from "@/lib/valkey/keys";

/**
 * The one-click load simulator: a bounded burst through the same gateway path
 * as /api/generate (in-process, no HTTP to itself), with at most `concurrency`
 * requests in flight. Clients are named `sim:<tier>:<n>` so they never share
 * a window with a real caller, and the same button hits the same windows on a
 * second click, as a real abusive client would.
 */

export const DEMO_PROMPTS = [
  "What is Valkey?",
  "Explain rate limiting in one paragraph.",
  "How does a sliding window differ from a fixed window?",
  "Why cache LLM responses?",
  "What does a 429 status code mean?",
  "Summarize the benefits of an API gateway.",
  "How do token budgets work for LLM APIs?",
  "What is a Redis sorted set good for?",
  "Give me three tips for prompt caching.",
  "What is a capped stream?",
];

function promptFor(index: number): string {
  const base = DEMO_PROMPTS[index % DEMO_PROMPTS.length] as string;
  const round = Math.floor(index / DEMO_PROMPTS.length);
  // Pools larger than the list get numbered variants, each its own cache entry.
  return round === 0 ? base : `${base} (variant ${round + 1})`;
}

export function simulatedIdentity(index: number, request: Pick<SimulateRequest, "clients" | "tier">): Identity {
  const client = index % request.clients;
  const tier: TierName =
    request.tier === "mixed" ? (TIER_NAMES[client % TIER_NAMES.length] as TierName) : request.tier;
  return { id: `sim:${tier}:${client + 1}`, kind: "sim", tier };
}

export function summarize(results: SimulateResult[], durationMs: number): SimulateSummary {
  const count = (outcome: SimulateResult["outcome"]) => results.filter((r) => r.outcome === outcome).length;
  const cached = count("cached");
  return {
    total: results.length,
    successful: count("allowed") + cached,
    blocked: count("blocked"),
    cached,
    failed: count("failed"),
    durationMs: Math.round(durationMs),
  };
}

/**
 * Simulator runs at once in this process: a counting semaphore that never
 * queues (a run either starts now or is refused). take() checks and takes in
 * one synchronous step, so callers must take before their first await, and
 * give back in `finally`. In-process only: N app instances allow N × max
 * runs between them (a Valkey counter would be needed to hold across them);
 * the per-caller SIMULATE_RUNS_PER_MINUTE in Valkey is what they share.
 */
export interface RunSlots {
  /** A release function (safe to call more than once), or null when every slot is taken. */
  take(): (() => void) | null;
  inUse(): number;
}

export function createRunSlots(max: number): RunSlots {
  let inUse = 0;
  return {
    take() {
      if (inUse >= max) return null;
      inUse += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inUse -= 1;
      };
    },
    inUse: () => inUse,
  };
}

export interface SimulatorQuota {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** ms until another run may start; 0 when allowed. */
  retryAfterMs: number;
}

/**
 * One caller's simulator runs per minute, counted in an exact sliding log
 * (the standalone sliding-log script): each run is up to 2,000 requests, so
 * the button must not become a way to flood Valkey. Null when Valkey cannot
 * be asked: the run itself then meets the gateway's FAIL_MODE.
 */
export async function takeSimulatorRun(input: { deps: GatewayDeps; caller: Identity; requestId: string }): Promise<SimulatorQuota | null> {
  const { deps, caller } = input;
  const limit = deps.config.SIMULATE_RUNS_PER_MINUTE;
  try {
    const client = await deps.valkey();
    const key = deps.keys.simulatorRuns(shardOf(caller.id, deps.config.VALKEY_SHARDS), caller.id);
    const [allowed, , remaining, , retryAfterMs] = await client.fgSlidingLog(key, deps.now(), limit, 60_000, 1, input.requestId, WINDOW_EXPIRY_MARGIN_MS, "1");
    return { allowed: allowed === 1, limit, remaining, retryAfterMs };
  } catch {
    return null;
  }
}

export interface SimulationInput {
  deps: GatewayDeps;
  request: SimulateRequest;
  /** Called after each request settles, in completion order. */
  onResult?: (result: SimulateResult, done: number) => void;
  signal?: AbortSignal;
}

export async function runSimulation(input: SimulationInput): Promise<{ summary: SimulateSummary; results: SimulateResult[] }> {
  const { deps, request } = input;
  const started = performance.now();
  const results: SimulateResult[] = new Array(request.count);
  let nextIndex = 0;
  let done = 0;

  async function one(index: number): Promise<SimulateResult> {
    const identity = simulatedIdentity(index, request);
    const begun = performance.now();
    const base = { index, identity: identity.id, tier: identity.tier };
    try {
      const prompt = promptFor(index % request.prompts);
      const result = await runGatewayToEnd(deps, { door: "generate", identity, model: defaultModel(deps.config) ?? DEFAULT_MODEL, messages: [{ role: "user", content: prompt }] });
      const latencyMs = Math.round((performance.now() - begun) * 100) / 100;
      switch (result.kind) {
        case "blocked":
          return { ...base, outcome: "blocked", status: 429, cached: false, remaining: 0, latencyMs };
        case "hit":
        case "miss":
          return {
            ...base,
            outcome: result.kind === "hit" ? "cached" : "allowed",
            status: 200,
            cached: result.kind === "hit",
            remaining: result.decision.remaining,
            latencyMs,
          };
        case "degraded":
          return { ...base, outcome: "allowed", status: 200, cached: false, remaining: null, latencyMs };
        case "unavailable":
          return { ...base, outcome: "failed", status: 503, cached: false, remaining: null, latencyMs, error: "Valkey unavailable" };
      }
    } catch (error) {
      const latencyMs = Math.round((performance.now() - begun) * 100) / 100;
      // The cause goes to the log; the run's result says what happened in words of ours.
      const known = isGatewayError(error) ? error : isUpstreamError(error) ? upstreamFailure(error, `simulate-${index}`) : null;
      if (!known) console.warn(`[flowgate] simulated request ${index} failed`, error);
      return {
        ...base,
        outcome: "failed",
        status: known?.status ?? 500,
        cached: false,
        remaining: null,
        latencyMs,
        error: known?.message ?? "The gateway failed on this request; the cause is in the server log.",
      };
    }
  }

  async function worker(): Promise<void> {
    while (nextIndex < request.count && !input.signal?.aborted) {
      const index = nextIndex++;
      const result = await one(index);
      results[index] = result;
      done += 1;
      input.onResult?.(result, done);
    }
  }

  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, worker));
  const settled = results.filter(Boolean);
  return { summary: summarize(settled, performance.now() - started), results: settled };
}
