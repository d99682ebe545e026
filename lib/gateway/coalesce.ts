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

const inflight = new Map<string, Promise<unknown>>();

/** Run the owner's generation, visible to same-process waiters until it settles. */
export function shareGeneration<T>(promptHash: string, produce: () => Promise<T>): Promise<T> {
  const promise = produce();
  inflight.set(promptHash, promise);
  const forget = () => {
    if (inflight.get(promptHash) === promise) inflight.delete(promptHash);
  };
  promise.then(forget, forget);
  return promise;
}

export function inflightGeneration<T>(promptHash: string): Promise<T> | undefined {
  return inflight.get(promptHash) as Promise<T> | undefined;
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
    const local = inflightGeneration<T>(input.promptHash);
    if (local) {
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
