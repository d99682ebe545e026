import "server-only";
import { storePromptCache } from "@/lib/gateway/cluster-cache";
import { isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import type { Identity } from "@/lib/gateway/identity";
import type { Generation } from "@/lib/gateway/model";
import type { Decision } from "@/lib/gateway/rate-limit";
import { BUCKET_TTL_SECONDS, bucketStart, shardOf, streamCapPerShard, type KeySpace } from "@/lib/valkey/keys";

/** The JSON kept in the cache entry; a later hit answers from it. */
export interface CachedEntry extends Generation {
  /** Unix ms the entry was generated. */
  createdAt: number;
}

export interface StoreInput {
  client: ValkeyClient;
  keys: KeySpace;
  shards: number;
  identity: Identity;
  decision: Decision;
  requestId: string;
  promptHash: string;
  generation: Generation;
  ttlSeconds: number;
  /** STREAM_MAXLEN: entries all shards' streams keep together. */
  streamCap: number;
  now: number;
  /** decide.lua counted this request as coalesced; it generated after all. */
  wasCoalesced?: boolean;
  /** This request holds the prompt's generation lock (it took it, or took it over). */
  ownsLock?: boolean;
  /** Same-process requests that waited for this generation: their savings are counted here. */
  creditWaiters?: number;
}

/**
 * Second round trip of a miss: cache the answer (unless one is already
 * cached), release the generation lock, count its tokens, log the event
 * (store.lua). Returns the entry now in the cache: this generation's, or the
 * one that was there first.
 *
 * On a cluster the cache half runs on the prompt's slot (cache-store.lua)
 * and store.lua's shard half on the caller's slot: two calls, sent at once
 * when this request holds the lock (no one else stores this prompt now, so
 * the entry is its own to index). Without the lock (locks off, or a waiter
 * whose wait ran out) another request may have stored first, so the cache
 * half goes first and the shard half indexes the prompt only if it stored:
 * the cached-prompt count never counts one prompt twice.
 */
export async function storeMiss(input: StoreInput): Promise<CachedEntry> {
  const { client, keys, identity, generation, now } = input;
  const entry: CachedEntry = { ...generation, createdAt: now };
  const json = JSON.stringify(entry);
  if (!isClusterClient(client)) {
    const [, inForce] = await storeShard(input, json, "");
    return parseCachedEntry(inForce) ?? entry;
  }
  const cacheHalf = () =>
    storePromptCache({ client, keys, promptHash: input.promptHash, requestId: input.requestId, json, ttlSeconds: input.ttlSeconds });
  let inForce: string;
  if (input.ownsLock) {
    const [cached] = await Promise.all([cacheHalf(), storeShard(input, json, "stored")]);
    inForce = cached.json;
  } else {
    const cached = await cacheHalf();
    await storeShard(input, json, cached.stored ? "stored" : "kept");
    inForce = cached.json;
  }
  return parseCachedEntry(inForce) ?? entry;
}

/** store.lua: everything on a single server; on a cluster ("stored" | "kept") only the caller's shard slot. */
function storeShard(input: StoreInput, json: string, cacheElsewhere: "" | "stored" | "kept") {
  const { client, keys, identity, decision, generation, now } = input;
  const shard = shardOf(identity.id, input.shards);
  const onShard = cacheElsewhere !== "";
  return client.fgStore(
    // On a cluster the cache entry and the lock are not this call's: keys of the caller's slot stand in, never touched.
    onShard ? keys.totals(shard) : keys.cache(input.promptHash),
    keys.totals(shard),
    keys.cacheIndex(shard),
    keys.events(shard),
    keys.bucket(shard, bucketStart(now)),
    onShard ? keys.totals(shard) : keys.lock(input.promptHash),
    now,
    onShard ? "" : json,
    input.ttlSeconds,
    input.promptHash,
    generation.usage.totalTokens,
    generation.latencyMs,
    streamCapPerShard(input.streamCap, input.shards),
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
    cacheElsewhere,
    input.creditWaiters ?? 0,
  );
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
