import "server-only";
import type { Cluster } from "ioredis";
import type { ValkeyClient } from "@/lib/valkey/client";
import type { KeySpace } from "@/lib/valkey/keys";

/**
 * The prompt cache's own calls on a Valkey Cluster. A cache entry and its
 * generation lock are tagged by the prompt's hash, so they live on the
 * prompt's slot, not on the caller's shard slot where decide.lua and
 * store.lua run; one script may not touch two slots. On a single server
 * none of this runs: decide.lua and store.lua do it inside their own call.
 */

export type LockState = "none" | "owner" | "coalesced";
const LOCK_STATES: LockState[] = ["none", "owner", "coalesced"];

export interface CacheLookup {
  /** The cached response JSON, or null. */
  cached: string | null;
  lock: LockState;
}

/** GET the entry; on a miss take the generation lock (cache-lookup.lua). One round trip. Also what a waiter polls, on any client. */
export async function lookupPromptCache(input: {
  client: ValkeyClient;
  keys: KeySpace;
  promptHash: string;
  requestId: string;
  /** ms; 0 takes no lock. */
  lockTtlMs: number;
}): Promise<CacheLookup> {
  const { keys, promptHash } = input;
  const [cached, lock] = await input.client.fgCacheLookup(keys.cache(promptHash), keys.lock(promptHash), input.requestId, input.lockTtlMs);
  return { cached: typeof cached === "string" ? cached : null, lock: LOCK_STATES[Number(lock)] ?? "none" };
}

/** Give the lock back if this request holds it (unlock.lua): its limits refused it, or it stores nothing. */
export async function releaseGenerationLock(input: { client: Cluster; keys: KeySpace; promptHash: string; requestId: string }): Promise<void> {
  await input.client.fgUnlock(input.keys.lock(input.promptHash), input.requestId);
}

/** SET the entry unless one is there, release the lock (cache-store.lua). Returns whether it stored, and the JSON in force. */
export async function storePromptCache(input: {
  client: Cluster;
  keys: KeySpace;
  promptHash: string;
  requestId: string;
  json: string;
  ttlSeconds: number;
  /** Overwrite an entry that is there. */
  refresh?: boolean;
}): Promise<{ stored: boolean; json: string }> {
  const { keys, promptHash } = input;
  const [stored, json] = await input.client.fgCacheStore(
    keys.cache(promptHash),
    keys.lock(promptHash),
    input.json,
    input.ttlSeconds,
    input.requestId,
    input.refresh ? "1" : "0",
  );
  return { stored: Number(stored) === 1, json };
}
