import { costOf, type Policy } from "@/lib/gateway/policy";
import type { DimensionResult } from "@/lib/gateway/rate-limit";

/**
 * The limiter of last resort: while Valkey is unusable and the caller's tier
 * fails open, requests are limited here, in this process's memory, with the
 * same limits as the plan. Every dimension is a token bucket (burst of the
 * limit, refilled once per window), checked all-or-nothing like decide.lua.
 * Per process, so N app instances admit up to N times the limit between
 * them: degraded, but not unlimited. The number of callers remembered is
 * bounded; the least recently seen are dropped first.
 */

interface Bucket {
  /** Level scaled by the window (as token-bucket.lua), so refill is elapsed × limit. */
  level: number;
  /** ms. */
  ts: number;
}

export interface FallbackDecision {
  allowed: boolean;
  dimensions: DimensionResult[];
  refused: DimensionResult | null;
}

export interface FallbackLimiter {
  decide(identity: string, policy: Policy, promptTokens: number, now: number): FallbackDecision;
  size(): number;
  clear(): void;
}

export function createFallbackLimiter(maxClients: number): FallbackLimiter {
  const buckets = new Map<string, Bucket>();

  return {
    decide(identity, policy, promptTokens, now) {
      const checks = policy.dimensions.map((d) => {
        const key = `${identity}|${d.name}`;
        const capacity = d.limit * d.windowMs;
        const stored = buckets.get(key);
        const level = stored ? Math.min(capacity, stored.level + Math.max(0, now - stored.ts) * d.limit) : capacity;
        const cost = costOf(d, promptTokens, policy);
        const need = cost * d.windowMs;
        return { d, key, capacity, level, cost, need, ok: level >= need };
      });
      const allowed = checks.every((c) => c.ok);
      const dimensions: DimensionResult[] = checks.map((c) => {
        const after = allowed ? c.level - c.need : c.level;
        if (allowed) {
          // Re-insert so the Map's order is least recently used first.
          buckets.delete(c.key);
          buckets.set(c.key, { level: after, ts: now });
        }
        const remaining = Math.floor(after / c.d.windowMs);
        return {
          ...c.d,
          cost: c.cost,
          allowed: c.ok,
          remaining,
          used: c.d.limit - remaining,
          resetAt: after >= c.capacity ? now : now + Math.ceil(((remaining + 1) * c.d.windowMs - after) / c.d.limit),
          retryAfterMs: c.ok ? 0 : c.cost > c.d.limit ? c.d.windowMs : Math.ceil((c.need - c.level) / c.d.limit),
        };
      });
      while (buckets.size > maxClients) {
        const oldest = buckets.keys().next().value;
        if (oldest === undefined) break;
        buckets.delete(oldest);
      }
      const refusing = dimensions.filter((d) => !d.allowed);
      const refused = refusing.length ? refusing.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a)) : null;
      return { allowed, dimensions, refused };
    },
    size: () => buckets.size,
    clear: () => buckets.clear(),
  };
}
