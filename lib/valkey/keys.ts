/**
 * Every Valkey key Flowgate uses is built here and nowhere else.
 *
 * `{s}` is a shard tag: a hash tag derived from the caller's identity, so all
 * keys one decision writes share a cluster slot, and the analytics keys are
 * spread over VALKEY_SHARDS slots instead of one hot one. On a single server
 * there is one shard, `{0}`.
 */

/** Width of one time bucket, ms. The traffic chart plots these. */
export const BUCKET_MS = 10_000;
/**
 * How long a time bucket is kept, s: as long as the chart shows it (60 × 10 s)
 * and one bucket more. Nothing reads older buckets, and /api/stats counts the
 * live ones with one EXISTS, so a longer life would only cost lookups.
 */
export const BUCKET_TTL_SECONDS = 610;
/** How many buckets the stats snapshot returns (10 minutes). */
export const CHART_BUCKETS = 60;
/**
 * Per-minute top sets (consumers, blocked, hot prompts) live this long after
 * their minute's start, s (readers look at this minute and the last); so do
 * a bucket's caller HyperLogLogs, after the bucket's start (readers merge the
 * last minute's).
 */
export const TOP_TTL_SECONDS = 120;
/** Members kept per top-consumer set: bounded memory under any number of callers (Space-Saving). */
export const TOP_CAP = 1000;
/** Interval of the memory and command samples /api/valkey keeps, ms. */
export const MEMORY_SAMPLE_MS = 10_000;
/** Samples kept: one hour. The sample stream also expires this long after the last one. */
export const MEMORY_SAMPLES = 360;
/** Slack added to a window's PEXPIRE so a key never dies while still needed, ms. */
export const WINDOW_EXPIRY_MARGIN_MS = 1000;

import type { Algorithm, DimensionKind } from "@/lib/tiers";

/** FNV-1a, 32 bit: a stable, cheap spread of identities over shards. */
export function shardOf(identity: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    h ^= identity.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/**
 * Entries each shard's stream keeps: STREAM_MAXLEN split over the shards,
 * rounded down so the shards together never hold more than the cap (at
 * least 1 per shard).
 */
export function streamCapPerShard(streamMaxlen: number, shards: number): number {
  return Math.max(1, Math.floor(streamMaxlen / Math.max(1, shards)));
}

export function bucketStart(nowMs: number): number {
  return Math.floor(nowMs / BUCKET_MS) * BUCKET_MS;
}

export function minuteOf(nowMs: number): number {
  return Math.floor(nowMs / 60_000);
}

export interface KeySpace {
  prefix: string;
  /**
   * A limit's state. The request dimension under the default sliding log
   * keeps its historical name `rl:<identity>`; every other dimension and
   * algorithm gets `rl:<dimension>.<algorithm>:<identity>`, so switching a
   * plan's algorithm never meets a key of another type.
   */
  rateLimit(shard: number, identity: string, dimension?: DimensionKind, algorithm?: Algorithm): string;
  cache(sha256Hex: string): string;
  /** The generation lock of a prompt: same hash tag as its cache entry. */
  lock(sha256Hex: string): string;
  /** Sliding log of one caller's simulator runs. */
  simulatorRuns(shard: number, identity: string): string;
  /** Wrong API keys sent from one client address in the current window (auth-failures.lua). */
  authFailures(shard: number, identity: string): string;
  /** The algorithm lab's state for one run and algorithm (its own slot). */
  lab(runId: string, algorithm: Algorithm): string;
  events(shard: number): string;
  totals(shard: number): string;
  bucket(shard: number, bucketStartMs: number): string;
  top(shard: number, minute: number): string;
  /** Blocked requests per identity this minute (Space-Saving, TOP_CAP members). */
  topBlocked(shard: number, minute: number): string;
  /** HyperLogLog of the callers seen in one time bucket. */
  activeCallers(shard: number, bucketStartMs: number): string;
  cacheIndex(shard: number): string;
  /** Prompts answered without the model this minute, by hits (Space-Saving, TOP_CAP members). */
  hotPrompts(shard: number, minute: number): string;
  /** Callers with live limit state, scored by when it expires (decide.lua keeps it). */
  limitIndex(shard: number): string;
  /** Memory and command counters sampled once per MEMORY_SAMPLE_MS, whoever polls (a capped stream). */
  memorySeries(): string;
  /** The command counters of the last few samples: the base of /api/valkey's per-interval figures. */
  commandSamples(): string;
}

export function createKeySpace(prefix: string): KeySpace {
  const tag = (shard: number) => `${prefix}{${shard}}`;
  return {
    prefix,
    rateLimit: (shard, identity, dimension = "requests", algorithm = "sliding-log") =>
      dimension === "requests" && algorithm === "sliding-log"
        ? `${tag(shard)}:rl:${identity}`
        : `${tag(shard)}:rl:${dimension}.${algorithm}:${identity}`,
    cache: (sha) => `${prefix}cache:{${sha}}`,
    lock: (sha) => `${prefix}lock:{${sha}}`,
    simulatorRuns: (shard, identity) => `${tag(shard)}:sim-runs:${identity}`,
    authFailures: (shard, identity) => `${tag(shard)}:auth-fail:${identity}`,
    lab: (runId, algorithm) => `${prefix}lab:{${runId}}:${algorithm}`,
    events: (shard) => `${tag(shard)}:events`,
    totals: (shard) => `${tag(shard)}:stats`,
    bucket: (shard, start) => `${tag(shard)}:ts:${start}`,
    top: (shard, minute) => `${tag(shard)}:top:${minute}`,
    topBlocked: (shard, minute) => `${tag(shard)}:top-blocked:${minute}`,
    activeCallers: (shard, start) => `${tag(shard)}:callers:${start}`,
    cacheIndex: (shard) => `${tag(shard)}:idx:cache`,
    hotPrompts: (shard, minute) => `${tag(shard)}:hot:${minute}`,
    limitIndex: (shard) => `${tag(shard)}:idx:limits`,
    memorySeries: () => `${tag(0)}:samples`,
    commandSamples: () => `${tag(0)}:samples:commands`,
  };
}
