import "server-only";
import { randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import { GatewayError } from "@/lib/errors";
import type { ValkeyClient } from "@/lib/valkey/client";
import type { LabAlgorithm, LabPoint, LabRequest, LabResult } from "@/lib/schemas";
import { ALGORITHMS, ALGORITHM_LABELS, type Algorithm } from "@/lib/tiers";
import type { KeySpace } from "@/lib/valkey/keys";
import { ALGORITHM_COMMAND } from "@/lib/valkey/scripts";

/**
 * The algorithm lab: one traffic pattern through all four limiter scripts,
 * each on its own key under a private `lab:{<run>}` prefix, with a simulated
 * clock (the scripts take time as an argument), so three windows of traffic
 * run in milliseconds and repeat exactly. The keys are deleted afterwards.
 */

const WINDOWS = 3;
const BINS_PER_WINDOW = 10;
/** A fixed, window-aligned origin for the simulated clock, Unix ms. */
const ORIGIN_BASE = 1_800_000_000_000;

/** Request times (ms since the origin) of the lab's pattern. */
export function labPattern(limit: number, windowMs: number): number[] {
  const times: number[] = [];
  // Window 0: half the limit, spread over its first half.
  const warm = Math.floor(limit / 2);
  for (let i = 0; i < warm; i++) times.push(Math.floor((i * windowMs) / 2 / warm));
  // Two bursts of 2 × limit straddling the boundary: the last ms of window 0, the first of window 1.
  for (let i = 0; i < 2 * limit; i++) times.push(windowMs - 1);
  for (let i = 0; i < 2 * limit; i++) times.push(windowMs);
  // Then twice the nominal rate, steadily, to the end of window 2.
  const step = windowMs / (2 * limit);
  for (let t = windowMs + step; t < WINDOWS * windowMs; t += step) times.push(Math.floor(t));
  return times;
}

export const LAB_PATTERN_TEXT =
  "window 0: limit/2 requests over its first half; 2×limit in its last ms and 2×limit in the first ms of window 1; then 2× the nominal rate to the end of window 2";

function maxInAnyWindow(admitted: number[], windowMs: number): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < admitted.length; end++) {
    while ((admitted[start] as number) <= (admitted[end] as number) - windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

export async function runLab(input: { client: ValkeyClient; keys: KeySpace; request: LabRequest }): Promise<LabResult> {
  const { client, keys } = input;
  const { limit, windowMs } = input.request;
  const started = performance.now();
  const runId = randomBytes(6).toString("hex");
  const origin = Math.ceil(ORIGIN_BASE / windowMs) * windowMs;
  const times = labPattern(limit, windowMs);
  const binMs = windowMs / BINS_PER_WINDOW;
  const bins = WINDOWS * BINS_PER_WINDOW;
  const series: LabPoint[] = Array.from({ length: bins }, (_, i) => ({
    t: i * binMs,
    sent: 0,
    admitted: Object.fromEntries(ALGORITHMS.map((a) => [a, 0])) as Record<Algorithm, number>,
  }));
  for (const t of times) (series[Math.min(bins - 1, Math.floor(t / binMs))] as LabPoint).sent += 1;

  const results: LabAlgorithm[] = [];
  const used: string[] = [];
  try {
    for (const algorithm of ALGORITHMS) {
      const key = keys.lab(runId, algorithm);
      used.push(key);
      const admittedAt: number[] = [];
      let boundary = 0;
      let memory = 0;
      let keyType = "none";
      for (let i = 0; i < times.length; i++) {
        const t = times[i] as number;
        const [allowed] = await client[ALGORITHM_COMMAND[algorithm]](key, origin + t, limit, windowMs, 1, `r${i}`, 1000, "1");
        if (allowed === 1) {
          admittedAt.push(t);
          (series[Math.min(bins - 1, Math.floor(t / binMs))] as LabPoint).admitted[algorithm] += 1;
          if (t === windowMs - 1 || t === windowMs) boundary += 1;
        }
        // Sample memory where state peaks: right after the boundary bursts, and at the end.
        const next = times[i + 1];
        if ((t === windowMs && next !== windowMs) || next === undefined) {
          const bytes = Number((await client.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
          if (bytes > memory) {
            memory = bytes;
            keyType = await client.type(key);
          }
        }
      }
      const max = maxInAnyWindow(admittedAt, windowMs);
      results.push({
        algorithm,
        label: ALGORITHM_LABELS[algorithm],
        admitted: admittedAt.length,
        maxInAnyWindow: max,
        beyondNominal: Math.max(0, max - limit),
        boundaryBurstAdmitted: boundary,
        memoryBytes: memory,
        keyType,
      });
    }
  } finally {
    if (used.length) await client.del(...used).catch(() => 0);
  }
  return {
    limit,
    windowMs,
    windows: WINDOWS,
    binMs,
    sent: times.length,
    pattern: LAB_PATTERN_TEXT,
    algorithms: results,
    series,
    durationMs: Math.round(performance.now() - started),
  };
}

/** How long a run's result is served to everyone who asks for the same parameters, ms. */
export const LAB_RESULT_TTL_MS = 5000;
/** Distinct runs running or waiting their turn at once; beyond that, a 429. */
export const LAB_MAX_PENDING = 4;

interface LabContext {
  valkey: () => Promise<ValkeyClient>;
  keys: KeySpace;
}

// Runs take their turn one at a time (it is a demo, not a load generator).
let turn: Promise<unknown> = Promise.resolve();
let pending = 0;

function inTurn<T>(run: () => Promise<T>): Promise<T> {
  if (pending >= LAB_MAX_PENDING) {
    throw new GatewayError("rate_limited", `${pending} lab runs are in progress or waiting; try again in a moment.`, { retryAfterSeconds: 1 });
  }
  pending += 1;
  const result = turn.then(run).finally(() => {
    pending -= 1;
  });
  turn = result.catch(() => undefined);
  return result;
}

/**
 * A run's result by its parameters, kept LAB_RESULT_TTL_MS. The run is
 * deterministic (fixed pattern, simulated clock), so every dashboard that
 * loads at once can share one: lru-cache's fetch() hands concurrent callers
 * of the same key the same in-flight promise, and forgets a run that failed.
 */
const results = new LRUCache<string, LabResult, LabContext>({
  max: 32,
  ttl: LAB_RESULT_TTL_MS,
  fetchMethod: async (key, _stale, { context }) => {
    const [limit, windowMs] = key.split(":").map(Number) as [number, number];
    return inTurn(async () => runLab({ client: await context.valkey(), keys: context.keys, request: { limit, windowMs } }));
  },
});

/** The lab's result for these parameters: a recent one, the one in flight, or a new run in its turn. */
export async function readLab(input: LabContext & { request: LabRequest }): Promise<LabResult> {
  const { valkey, keys, request } = input;
  const result = await results.fetch(`${request.limit}:${request.windowMs}`, { context: { valkey, keys } });
  if (!result) throw new Error("lab run produced no result");
  return result;
}
