import "server-only";
import type { LiveGeneration } from "@/lib/gateway/live-generation";

/**
 * No cache stampede. When many callers send the same new prompt at once,
 * decide.lua lets exactly one of them take the prompt's generation lock (in
 * the same call that found the cache empty: no extra round trip); the others
 * come back "coalesced" and wait here for that one's answer:
 * - in this process, by reading the owner's LiveGeneration (a Map keyed by
 *   prompt hash, so no Valkey call at all): a streaming waiter gets the
 *   owner's stream as it is produced;
 * - from another app instance, by polling the cache entry and its lock with
 *   a growing delay. The owner renews its lock while it generates, so a slow
 *   model is waited for; a lock that frees up without an answer (its owner
 *   died or was refused) is taken over by the first poller, which generates.
 *   After STAMPEDE_WAIT_MS a waiter generates anyway.
 *
 * The Map is module state, not globalThis: each app instance (and each
 * module graph the tests load) has its own, as separate processes would.
 */

const inflight = new Map<string, { live: LiveGeneration; waiters: number }>();

/** Make the owner's generation visible to same-process waiters until it settles. */
export function shareGeneration(promptHash: string, live: LiveGeneration): void {
  const slot = { live, waiters: 0 };
  inflight.set(promptHash, slot);
  const forget = () => {
    if (inflight.get(promptHash) === slot) inflight.delete(promptHash);
  };
  live.done.then(forget, forget);
}

/**
 * Same-process requests waiting for this prompt's generation so far. The
 * owner reads it when it stores the answer and credits their savings (tokens
 * and model time not spent) in the same call: a waiter costs no extra round
 * trip to be counted.
 */
export function waitersOf(promptHash: string): number {
  return inflight.get(promptHash)?.waiters ?? 0;
}

export type WaitOutcome =
  /** The owner runs in this process: read its answer as it comes. */
  | { kind: "local"; live: LiveGeneration }
  /** Another instance's answer, from the cache. */
  | { kind: "cached"; json: string }
  /** The lock was free and this request took it: it generates now. */
  | { kind: "took-over" }
  /** Nothing arrived within waitMs: generate without the lock. */
  | { kind: "gave-up" };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait for another request's answer to `promptHash`; `poll` reads the cache entry, else takes a free lock. */
export async function waitForGeneration(input: {
  promptHash: string;
  waitMs: number;
  poll: () => Promise<{ cached: string | null; lock: "none" | "owner" | "coalesced" }>;
}): Promise<WaitOutcome> {
  const deadline = performance.now() + input.waitMs;
  let delay = 5;
  for (;;) {
    const slot = inflight.get(input.promptHash);
    if (slot) {
      slot.waiters += 1;
      return { kind: "local", live: slot.live };
    }
    const found = await input.poll().catch(() => null);
    if (found?.cached) return { kind: "cached", json: found.cached };
    if (found?.lock === "owner") return { kind: "took-over" };
    const left = deadline - performance.now();
    if (left <= 0) return { kind: "gave-up" };
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 100);
  }
}
