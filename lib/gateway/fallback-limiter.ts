import { LRUCache } from "lru-cache";
import { costOf, type Policy } from "@/lib/gateway/policy";
import type { DimensionResult } from "@/lib/gateway/rate-limit";

/**
 * The limiter of last resort: while Valkey is unusable and the caller's tier
 * fails open, requests are limited here, in this process's memory, with the
 * same limits as the plan. Every dimension is a token bucket (burst of the
 * limit, refilled once per window), checked all-or-nothing like decide.lua.
 * Per process, so N app instances admit up to N times the limit between
 * them: degraded, but not unlimited.
 *
 * At most `maxClients` callers are remembered, in two LRU segments (a
 * segmented LRU, on lru-cache): a caller starts in the probation segment and
 * moves to the protected one the first time it is refused. New identities
 * only ever evict from probation, so a flood of them cannot push a refused
 * caller out and hand it back a full bucket; the protected segment evicts
 * its least recently seen caller only to make room for another refused one.
 * Every decision, allowed or refused, marks the caller most recently seen.
 *
 * rate-limiter-flexible's RateLimiterMemory does not fit here: its consume()
 * is asynchronous (the pipeline decides synchronously on this path), it is a
 * fixed window on Date.now() (the pipeline passes its own clock), it checks
 * one key at a time (not all dimensions or none) and it keeps every key
 * until its timer fires, with no bound on how many.
 */

interface Bucket {
  /** Level scaled by the window (as token-bucket.lua), so refill is elapsed × limit. */
  level: number;
  /** ms. */
  ts: number;
}

/** One caller's buckets, by dimension name. */
type CallerState = Record<string, Bucket>;

export interface FallbackDecision {
  allowed: boolean;
  dimensions: DimensionResult[];
  refused: DimensionResult | null;
}

export interface FallbackLimiter {
  /** maxTokens: the client's completion budget (null: the plan's), as decide.lua charges it. */
  decide(identity: string, policy: Policy, promptTokens: number, now: number, maxTokens?: number | null): FallbackDecision;
  /** Callers remembered. */
  size(): number;
  clear(): void;
}

/** Share of the callers remembered that is kept for refused ones. */
const PROTECTED_SHARE = 0.5;

export function createFallbackLimiter(maxClients: number): FallbackLimiter {
  const protectedMax = Math.max(1, Math.floor(maxClients * PROTECTED_SHARE));
  const refused = new LRUCache<string, CallerState>({ max: protectedMax });
  const probation = new LRUCache<string, CallerState>({ max: Math.max(1, maxClients - protectedMax) });

  return {
    decide(identity, policy, promptTokens, now, maxTokens) {
      // get() marks the caller most recently seen in its segment.
      const isProtected = refused.has(identity);
      const stored = (isProtected ? refused.get(identity) : probation.get(identity)) ?? {};
      const checks = policy.dimensions.map((d) => {
        const capacity = d.limit * d.windowMs;
        const bucket = stored[d.name];
        const level = bucket ? Math.min(capacity, bucket.level + Math.max(0, now - bucket.ts) * d.limit) : capacity;
        const cost = costOf(d, promptTokens, policy, maxTokens);
        const need = cost * d.windowMs;
        return { d, capacity, level, cost, need, ok: level >= need };
      });
      const allowed = checks.every((c) => c.ok);
      const dimensions: DimensionResult[] = checks.map((c) => {
        const after = allowed ? c.level - c.need : c.level;
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
      if (allowed) {
        const next: CallerState = { ...stored };
        for (const c of checks) next[c.d.name] = { level: c.level - c.need, ts: now };
        (isProtected ? refused : probation).set(identity, next);
      } else if (!isProtected && Object.keys(stored).length > 0) {
        // Refused with what it has used: keep it where new identities cannot reach.
        probation.delete(identity);
        refused.set(identity, stored);
      }
      // (Refused with no state: a cost larger than a full bucket, which never fits; nothing to remember.)
      const refusing = dimensions.filter((d) => !d.allowed);
      const refusedBy = refusing.length ? refusing.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a)) : null;
      return { allowed, dimensions, refused: refusedBy };
    },
    size: () => refused.size + probation.size,
    clear: () => {
      refused.clear();
      probation.clear();
    },
  };
}
