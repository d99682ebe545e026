import "server-only";
import type { Redis } from "ioredis";
import type { Identity } from "@/lib/gateway/identity";
import type { Policy } from "@/lib/gateway/policy";
import {
  BUCKET_TTL_SECONDS,
  TOP_TTL_SECONDS,
  WINDOW_EXPIRY_MARGIN_MS,
  bucketStart,
  minuteOf,
  shardOf,
  type KeySpace,
} from "@/lib/valkey/keys";

/** What decide.lua answered, typed. */
export interface Decision {
  allowed: boolean;
  /** Requests in the caller's window after this decision. */
  inWindow: number;
  limit: number;
  remaining: number;
  /** Unix ms when the oldest request leaves the window. */
  resetAt: number;
  /** ms until a retry can succeed; 0 when allowed. */
  retryAfterMs: number;
  windowMs: number;
  policy: string;
  /** The cached response JSON on a hit, else null (also for blocked requests). */
  cached: string | null;
}

export interface DecideInput {
  client: Redis;
  keys: KeySpace;
  shards: number;
  identity: Identity;
  policy: Policy;
  requestId: string;
  /** Full hex SHA-256 of the prompt; looked up when the request is admitted. */
  promptHash: string;
  streamCap: number;
  /** Unix ms. */
  now: number;
}

/**
 * One round trip: the sliding-window check, the cache lookup, the counters
 * and the event, atomically in decide.lua.
 */
export async function decideRequest(input: DecideInput): Promise<Decision> {
  const { client, keys, identity, policy, now } = input;
  const shard = shardOf(identity.id, input.shards);
  const minute = minuteOf(now);
  const reply = await client.fgDecide(
    keys.rateLimit(shard, identity.id),
    keys.cache(input.promptHash),
    keys.totals(shard),
    keys.bucket(shard, bucketStart(now)),
    keys.top(shard, minute),
    keys.topBlocked(shard, minute),
    keys.activeIndex(shard),
    keys.events(shard),
    now,
    policy.windowMs,
    policy.limit,
    input.requestId,
    identity.id,
    identity.tier,
    "1",
    BUCKET_TTL_SECONDS,
    TOP_TTL_SECONDS,
    input.streamCap,
    input.promptHash.slice(0, 12),
    WINDOW_EXPIRY_MARGIN_MS,
  );
  const [allowed, inWindow, remaining, resetAt, retryAfterMs, cached] = reply;
  return {
    allowed: allowed === 1,
    inWindow,
    limit: policy.limit,
    remaining,
    resetAt,
    retryAfterMs,
    windowMs: policy.windowMs,
    policy: policy.name,
    cached: cached ?? null,
  };
}
