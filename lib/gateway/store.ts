import "server-only";
import type { Redis } from "ioredis";
import type { Identity } from "@/lib/gateway/identity";
import type { Generation } from "@/lib/gateway/model";
import type { Decision } from "@/lib/gateway/rate-limit";
import { BUCKET_TTL_SECONDS, bucketStart, shardOf, type KeySpace } from "@/lib/valkey/keys";

/** The JSON kept in the cache entry; a later hit answers from it. */
export interface CachedEntry extends Generation {
  /** Unix ms the entry was generated. */
  createdAt: number;
}

export interface StoreInput {
  client: Redis;
  keys: KeySpace;
  shards: number;
  identity: Identity;
  decision: Decision;
  requestId: string;
  promptHash: string;
  generation: Generation;
  ttlSeconds: number;
  streamCap: number;
  now: number;
  /** decide.lua counted this request as coalesced; it generated after all. */
  wasCoalesced?: boolean;
}

/**
 * Second round trip of a miss: cache the answer (unless one is already
 * cached), release the generation lock, count its tokens, log the event
 * (store.lua). Returns the entry now in the cache: this generation's, or the
 * one that was there first.
 */
export async function storeMiss(input: StoreInput): Promise<CachedEntry> {
  const { client, keys, identity, decision, generation, now } = input;
  const shard = shardOf(identity.id, input.shards);
  const entry: CachedEntry = { ...generation, createdAt: now };
  const [, inForce] = await client.fgStore(
    keys.cache(input.promptHash),
    keys.totals(shard),
    keys.cacheIndex(shard),
    keys.events(shard),
    keys.bucket(shard, bucketStart(now)),
    keys.lock(input.promptHash),
    now,
    JSON.stringify(entry),
    input.ttlSeconds,
    input.promptHash,
    generation.usage.totalTokens,
    generation.latencyMs,
    input.streamCap,
    BUCKET_TTL_SECONDS,
    input.requestId,
    identity.id,
    identity.tier,
    decision.inWindow,
    decision.limit,
    decision.remaining,
    decision.resetAt,
    input.promptHash.slice(0, 12),
    input.wasCoalesced ? "1" : "0",
  );
  return parseCachedEntry(inForce) ?? entry;
}

export function parseCachedEntry(json: string): CachedEntry | null {
  try {
    const value = JSON.parse(json) as Partial<CachedEntry>;
    if (typeof value.response !== "string" || !value.usage) return null;
    return value as CachedEntry;
  } catch {
    return null;
  }
}
