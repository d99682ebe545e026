import "server-only";
import { releaseGenerationLock, storePromptCache } from "@/lib/gateway/cluster-cache";
import { isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import type { Identity } from "@/lib/gateway/identity";
import type { Generation } from "@/lib/gateway/model";
import type { Decision } from "@/lib/gateway/rate-limit";
import type { FinishReason } from "@/lib/gateway/upstreams/types";
import { BUCKET_TTL_SECONDS, bucketStart, shardOf, streamCapPerShard, type KeySpace } from "@/lib/valkey/keys";

/** The JSON kept in the cache entry; a later hit answers from it. */
export interface CachedEntry extends Generation {
  /** Unix ms the entry was generated. */
  createdAt: number;
  /** Why the answer ended; absent in entries written before streaming. */
  finishReason?: FinishReason;
}

/** What becomes of the answer: cached (unless one is), cached over what is there, or only counted. */
export type CacheMode = "store" | "refresh" | "none";

export interface SettleInput {
  client: ValkeyClient;
  keys: KeySpace;
  shards: number;
  identity: Identity;
  decision: Decision;
  requestId: string;
  promptHash: string;
  /** The answer (for mode "none", what there was of it: its tokens and time are counted). */
  generation: Generation;
  mode: CacheMode;
  /** "stop" / "length" for a complete answer; "aborted" / "error" for one that was not. */
  finish: FinishReason | "aborted" | "error";
  /** Tokens the answer really cost (the upstream's usage, or what a cut-off answer produced). */
  tokensUsed: number;
  ttlSeconds: number;
  /** STREAM_MAXLEN: entries all shards' streams keep together. */
  streamCap: number;
  now: number;
  door: "generate" | "openai";
  /** decide.lua counted this request as coalesced; it generated after all. */
  wasCoalesced?: boolean;
  /** This request holds the prompt's generation lock (it took it, or took it over). */
  ownsLock?: boolean;
  /** Same-process requests that waited for this generation: their savings are counted here. */
  creditWaiters?: number;
}

/**
 * Second round trip of a miss (store.lua): cache the answer (unless one is
 * already cached, or the mode says not to), release the generation lock,
 * settle the token reservation against real usage, count its tokens, log the
 * event. Counts go to the decision's time bucket, not the store's. Returns
 * the entry now in the cache: this generation's, or the one that was there
 * first.
 *
 * On a cluster the cache half runs on the prompt's slot (cache-store.lua)
 * and store.lua's shard half on the caller's slot: two calls, sent at once
 * when this request holds the lock (no one else stores this prompt now, so
 * the entry is its own to index). Without the lock (locks off, or a waiter
 * whose wait ran out) another request may have stored first, so the cache
 * half goes first and the shard half indexes the prompt only if it stored:
 * the cached-prompt count never counts one prompt twice.
 */
export async function settleGeneration(input: SettleInput): Promise<CachedEntry> {
  const { client, keys, generation, now } = input;
  const entry: CachedEntry = {
    ...generation,
    createdAt: now,
    ...(input.finish === "stop" || input.finish === "length" ? { finishReason: input.finish } : {}),
  };
  const json = encodeCachedEntry(entry);
  if (!isClusterClient(client)) {
    const [, inForce] = await storeShard(input, json, "");
    return (inForce && parseCachedEntry(inForce)) || entry;
  }
  const target = { client, keys, promptHash: input.promptHash, requestId: input.requestId };
  if (input.mode === "none") {
    await Promise.all([
      input.ownsLock ? releaseGenerationLock(target) : undefined,
      storeShard(input, json, "kept"),
    ]);
    return entry;
  }
  const cacheHalf = () => storePromptCache({ ...target, json, ttlSeconds: input.ttlSeconds, refresh: input.mode === "refresh" });
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
function storeShard(input: SettleInput, json: string, cacheElsewhere: "" | "stored" | "kept") {
  const { client, keys, identity, decision, generation } = input;
  const shard = shardOf(identity.id, input.shards);
  const onShard = cacheElsewhere !== "";
  const requests = decision.dimensions[0];
  const tokens = decision.dimensions.find((d) => d.kind === "tokens");
  return client.fgStore(
    // On a cluster the cache entry and the lock are not this call's: keys of the caller's slot stand in, never touched.
    onShard ? keys.totals(shard) : keys.cache(input.promptHash),
    keys.totals(shard),
    keys.cacheIndex(shard),
    keys.events(shard),
    keys.bucket(shard, bucketStart(decision.decidedAt)),
    onShard ? keys.totals(shard) : keys.lock(input.promptHash),
    tokens ? keys.rateLimit(shard, identity.id, tokens.kind, tokens.algorithm) : keys.totals(shard),
    input.now,
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
    requests?.used ?? decision.inWindow,
    requests?.limit ?? decision.limit,
    requests?.remaining ?? decision.remaining,
    requests?.resetAt ?? decision.resetAt,
    input.promptHash.slice(0, 12),
    input.wasCoalesced ? "1" : "0",
    cacheElsewhere,
    input.creditWaiters ?? 0,
    input.door,
    generation.model,
    input.mode,
    tokens?.algorithm ?? "",
    tokens?.limit ?? 0,
    tokens?.windowMs ?? 1,
    decision.decidedAt,
    tokens ? (tokens.charged ?? 0) - input.tokensUsed : 0,
    input.finish,
  );
}

/**
 * The entry's JSON, with the three numbers a hit counts first and in a fixed
 * order: `{"createdAt":…,"latencyMs":…,"usage":{"totalTokens":…,…},…}`.
 * decide.lua reads them with one anchored match instead of decoding the whole
 * answer on every hit (an entry in another shape is decoded, as before). The
 * same JSON for any reader: only the order of its keys is chosen.
 */
export function encodeCachedEntry(entry: CachedEntry): string {
  const { createdAt, latencyMs, usage, ...rest } = entry;
  const { totalTokens, ...counts } = usage;
  return JSON.stringify({ createdAt, latencyMs, usage: { totalTokens, ...counts }, ...rest });
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
