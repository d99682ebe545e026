import "server-only";

/**
 * No cache stampede. When many callers send the same new prompt at once,
 * decide.lua lets exactly one of them take the prompt's generation lock (in
 * the same call that found the cache empty: no extra round trip); the others
 * come back "coalesced" and wait here for that one's answer:
 * - in this process, by awaiting the owner's in-flight promise (a Map keyed
 *   by prompt hash, so no Valkey call at all);
 * - from another app instance, by polling the cache key with a growing delay,
 *   for at most STAMPEDE_WAIT_MS. After that they generate themselves.
 *
 * The Map is module state, not globalThis: each app instance (and each
 * module graph the tests load) has its own, as separate processes would.
 */

const inflight = new Map<string, { promise: Promise<unknown>; waiters: number }>();

/** Run the owner's generation, visible to same-process waiters until it settles. */
export function shareGeneration<T>(promptHash: string, produce: () => Promise<T>): Promise<T> {
  const slot: { promise: Promise<unknown>; waiters: number } = { promise: Promise.resolve(), waiters: 0 };
  inflight.set(promptHash, slot);
  const promise = produce();
  slot.promise = promise;
  const forget = () => {
    if (inflight.get(promptHash) === slot) inflight.delete(promptHash);
  };
  promise.then(forget, forget);
  return promise;
}

export function inflightGeneration<T>(promptHash: string): Promise<T> | undefined {
  return inflight.get(promptHash)?.promise as Promise<T> | undefined;
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

export function inflightCount(): number {
  return inflight.size;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait for another request's answer to `promptHash`: the in-process promise
 * if there is one, else the cache entry (polled with `read`). Resolves null
 * when nothing arrived within waitMs, or the owner failed.
 */
export async function waitForGeneration<T>(input: {
  promptHash: string;
  waitMs: number;
  read: () => Promise<T | null>;
}): Promise<T | null> {
  const deadline = performance.now() + input.waitMs;
  let delay = 5;
  for (;;) {
    const slot = inflight.get(input.promptHash);
    const local = slot?.promise as Promise<T> | undefined;
    if (slot && local) {
      slot.waiters += 1;
      const left = Math.max(0, deadline - performance.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), left);
      });
      try {
        return await Promise.race([local.catch(() => null), timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    const found = await input.read().catch(() => null);
    if (found !== null) return found;
    const left = deadline - performance.now();
    if (left <= 0) return null;
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, 100);
  }
}
