/**
 * A circuit breaker around Valkey calls. Closed: calls go through, and
 * `threshold` consecutive failures open it. Open: calls fail at once with
 * BreakerOpenError (no connection attempt, no timeout to wait out) until
 * `cooldownMs` has passed; then one call is let through as a probe
 * (half-open) while the others still fail fast. The probe's success closes
 * the breaker; its failure opens it for another cool-down.
 *
 * Pure state with an injected clock, so unit tests drive it without Valkey.
 * The clock is wall time, not the gateway's (tests fix that one for limits).
 */

export type BreakerState = "closed" | "open" | "half-open";

export class BreakerOpenError extends Error {
  constructor(readonly retryInMs: number) {
    super(`Valkey circuit breaker is open; next probe in ${retryInMs} ms`);
    this.name = "BreakerOpenError";
  }
}

export interface BreakerOptions {
  threshold: number;
  cooldownMs: number;
  /** ms; defaults to Date.now. */
  clock?: () => number;
  onStateChange?: (state: BreakerState) => void;
  /** Every failed call (not calls refused while open). */
  onFailure?: (error: unknown) => void;
  /**
   * Whether an error means Valkey is unusable (it counts toward opening the
   * breaker). Anything else, such as a script's reply error, came from a
   * Valkey that answered: it passes through and counts as an answer.
   * Default: every error counts.
   */
  isFailure?: (error: unknown) => boolean;
}

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  /** Unix ms the breaker last opened, or null. */
  openedAt: number | null;
  /** ms until the next probe while open, else 0. */
  nextProbeInMs: number;
  threshold: number;
  cooldownMs: number;
}

export interface Breaker {
  run<T>(call: () => Promise<T>): Promise<T>;
  /** The state now (an open breaker whose cool-down is over reads half-open). */
  state(): BreakerState;
  snapshot(): BreakerSnapshot;
}

export function createBreaker(options: BreakerOptions): Breaker {
  const clock = options.clock ?? Date.now;
  let state: BreakerState = "closed";
  let failures = 0;
  let openedAt: number | null = null;
  let probing = false;

  const set = (next: BreakerState) => {
    if (next === state) return;
    state = next;
    options.onStateChange?.(next);
  };

  const coolDownLeft = () => (openedAt === null ? 0 : Math.max(0, openedAt + options.cooldownMs - clock()));

  const onSuccess = () => {
    failures = 0;
    openedAt = null;
    set("closed");
  };

  const onError = (error: unknown, probe: boolean) => {
    options.onFailure?.(error);
    failures += 1;
    if (probe || failures >= options.threshold) {
      openedAt = clock();
      set("open");
    }
  };

  return {
    async run<T>(call: () => Promise<T>): Promise<T> {
      let probe = false;
      if (state === "open" || state === "half-open") {
        const left = coolDownLeft();
        if (left > 0 || probing) throw new BreakerOpenError(left);
        probe = true;
        probing = true;
        set("half-open");
      }
      try {
        const value = await call();
        onSuccess();
        return value;
      } catch (error) {
        if (options.isFailure?.(error) ?? true) onError(error, probe);
        else onSuccess();
        throw error;
      } finally {
        if (probe) probing = false;
      }
    },
    state() {
      if (state === "open" && coolDownLeft() === 0) return "half-open";
      return state;
    },
    snapshot() {
      return {
        state: this.state(),
        consecutiveFailures: failures,
        openedAt,
        nextProbeInMs: state === "open" ? coolDownLeft() : 0,
        threshold: options.threshold,
        cooldownMs: options.cooldownMs,
      };
    },
  };
}
