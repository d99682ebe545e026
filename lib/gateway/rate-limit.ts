import "server-only";
import { lookupPromptCache, releaseGenerationLock } from "@/lib/gateway/cluster-cache";
import { isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import type { Identity } from "@/lib/gateway/identity";
import { costOf, type Dimension, type Policy } from "@/lib/gateway/policy";
import {
  BUCKET_TTL_SECONDS,
  TOP_CAP,
  TOP_TTL_SECONDS,
  WINDOW_EXPIRY_MARGIN_MS,
  bucketStart,
  minuteOf,
  shardOf,
  streamCapPerShard,
  type KeySpace,
} from "@/lib/valkey/keys";

/** One dimension of a decision. */
export interface DimensionResult extends Dimension {
  /** Units this request costs here. */
  cost: number;
  /** Whether this dimension alone would admit the request. */
  allowed: boolean;
  /** Units left after this decision (untouched when the request was refused). */
  remaining: number;
  /** Unix ms when the next unit frees up (now when nothing is used). */
  resetAt: number;
  /** ms until this request's cost fits here; 0 when it does. */
  retryAfterMs: number;
  /** Units in use after this decision. */
  used: number;
  /** Units decide.lua took here: the cost, 0 when refused or waived (a token cost on a hit); absent from the fallback limiter. */
  charged?: number;
}

/** What decide.lua answered, typed. */
export interface Decision {
  allowed: boolean;
  /** Units in use in the deciding dimension (requests when allowed, else the refusing one). */
  inWindow: number;
  limit: number;
  remaining: number;
  /** Unix ms when the deciding dimension frees its next unit. */
  resetAt: number;
  /** ms until a retry can succeed; 0 when allowed. */
  retryAfterMs: number;
  windowMs: number;
  /** The request policy's name when allowed; the refusing policy's name when blocked. */
  policy: string;
  /** The cached response JSON on a hit, else null (also for blocked requests). */
  cached: string | null;
  /** Every dimension of the plan, requests first. */
  dimensions: DimensionResult[];
  /** The dimension that refused (the one with the longest wait), or null. */
  refused: DimensionResult | null;
  /** Generation lock on a miss: this request generates (owner), or waits for another (coalesced). */
  lock: "none" | "owner" | "coalesced";
  /** Unix ms of the decision: the time bucket and the windows its counts went to. */
  decidedAt: number;
}

export interface DecideInput {
  client: ValkeyClient;
  keys: KeySpace;
  shards: number;
  identity: Identity;
  policy: Policy;
  requestId: string;
  /** Full hex SHA-256 of the prompt; looked up when the request is admitted. */
  promptHash: string;
  /** Estimated prompt tokens; with the completion budget, the token cost. */
  promptTokens: number;
  /** The client's max_tokens; null reserves the plan's completion budget. */
  maxTokens?: number | null;
  /** false skips the cache lookup (Cache-Control: no-cache): a miss that refreshes the entry. */
  useCache?: boolean;
  /** A cached entry older than this is a miss, ms (Cache-Control: max-age); 0 = any age. */
  maxAgeMs?: number;
  /** The dialect the request came in by, and its model: shown on the dashboard. */
  door?: "generate" | "openai";
  model?: string;
  /** The start of the prompt, for the hot-prompts view (hotMember). */
  promptPreview?: string;
  /** STREAM_MAXLEN: entries all shards' streams keep together. */
  streamCap: number;
  /** Generation lock lifetime, ms; 0 for none. */
  lockTtlMs: number;
  /** Unix ms. */
  now: number;
}

/** decide.lua's three dimension slots, filled from the plan: algorithm, limit, window, cost, name, waivable. */
function dimensionArgs(policy: Policy, promptTokens: number, maxTokens: number | null | undefined): (string | number)[] {
  const args: (string | number)[] = [];
  for (let i = 0; i < 3; i++) {
    const d = policy.dimensions[i];
    // Tokens pay for the model's work: waived when the answer is cached or another request generates it.
    if (d) args.push(d.algorithm, d.limit, d.windowMs, costOf(d, promptTokens, policy, maxTokens), d.name, d.kind === "tokens" ? "1" : "0");
    else args.push("", 0, 1, 0, "", "0");
  }
  return args;
}

export function dimensionKeys(keys: KeySpace, shard: number, identity: string, policy: Policy): string[] {
  return [0, 1, 2].map((i) => {
    const d = policy.dimensions[i];
    // An unused slot still needs a key of the caller's slot; it is never touched.
    return d ? keys.rateLimit(shard, identity, d.kind, d.algorithm) : keys.rateLimit(shard, identity, "requests", "sliding-log");
  });
}

const LOCK_STATES = ["none", "owner", "coalesced"] as const;

/** A cache outcome decide.lua counts without looking the cache up itself (cluster). */
interface GivenOutcome {
  outcome: "hit" | "miss" | "coalesced";
  savedTokens: number;
  savedMs: number;
}

/** What a hit saves, read from the cached JSON as decide.lua reads it. */
function savingsOf(json: string): { savedTokens: number; savedMs: number } {
  try {
    const doc = JSON.parse(json) as { usage?: { totalTokens?: unknown }; latencyMs?: unknown };
    const tokens = Number(doc.usage?.totalTokens);
    const ms = Number(doc.latencyMs);
    return { savedTokens: Number.isFinite(tokens) ? tokens : 0, savedMs: Number.isFinite(ms) ? ms : 0 };
  } catch {
    return { savedTokens: 0, savedMs: 0 };
  }
}

/** Whether a cached entry is older than the client accepts (Cache-Control: max-age), as decide.lua judges it. */
function isOlderThan(json: string, maxAgeMs: number, now: number): boolean {
  if (maxAgeMs <= 0) return false;
  try {
    const createdAt = Number((JSON.parse(json) as { createdAt?: unknown }).createdAt);
    return Number.isFinite(createdAt) && now - createdAt > maxAgeMs;
  } catch {
    return false;
  }
}

/**
 * On a single server, one round trip: every dimension's check, the
 * all-or-nothing consumption, the cache lookup (and on a miss the generation
 * lock), the counters and the event, atomically in decide.lua.
 *
 * On a cluster the cache entry and its lock live on the prompt's slot, so
 * they come first in a call of their own (cache-lookup.lua), and decide.lua
 * then runs on the caller's slot with that outcome: two round trips. A
 * request its limits refuse gives back a lock it took (a third call, only
 * then), so waiters take it over.
 */
export async function decideRequest(input: DecideInput): Promise<Decision> {
  const { client } = input;
  if (!isClusterClient(client)) return runDecide(input, null);

  const target = { client, keys: input.keys, promptHash: input.promptHash, requestId: input.requestId };
  const lookup =
    input.useCache === false
      ? { cached: null, lock: "none" as const }
      : await lookupPromptCache({ ...target, lockTtlMs: input.lockTtlMs });
  if (lookup.cached && isOlderThan(lookup.cached, input.maxAgeMs ?? 0, input.now)) lookup.cached = null;
  const given: GivenOutcome = lookup.cached
    ? { outcome: "hit", ...savingsOf(lookup.cached) }
    : { outcome: lookup.lock === "coalesced" ? "coalesced" : "miss", savedTokens: 0, savedMs: 0 };
  let decision: Decision;
  try {
    decision = await runDecide(input, given);
  } catch (error) {
    if (lookup.lock === "owner") await releaseGenerationLock(target).catch(() => undefined);
    throw error;
  }
  if (!decision.allowed) {
    // A refused request learns nothing of the cache, and keeps no lock.
    if (lookup.lock === "owner") await releaseGenerationLock(target).catch(() => undefined);
    return { ...decision, cached: null, lock: "none" };
  }
  return { ...decision, cached: lookup.cached, lock: lookup.lock };
}

/** decide.lua's reply, by position (see its header). */
const REPLY = { allowed: 0, refused: 1, lock: 2, dimensions: 3, perDimension: 6, cached: 21 } as const;

/** Characters of a prompt the hot-prompts view shows. */
export const PROMPT_PREVIEW_CHARS = 60;

/**
 * A hot-prompt member: the full prompt hash (so the view can find the cache
 * entry's expiry), a space, and the prompt's start with whitespace collapsed.
 */
export function hotMember(promptHash: string, preview = ""): string {
  return `${promptHash} ${preview.replace(/\s+/g, " ").trim().slice(0, PROMPT_PREVIEW_CHARS)}`;
}

/** decide.lua's KEYS and ARGV, in the order its header documents. */
function encodeDecideArgs(input: DecideInput, given: GivenOutcome | null): (string | number)[] {
  const { keys, identity, policy, now } = input;
  const shard = shardOf(identity.id, input.shards);
  const minute = minuteOf(now);
  // On a cluster decide.lua never touches the cache or the lock; it gets keys of its own slot in their place.
  const keyArgs = [
    ...dimensionKeys(keys, shard, identity.id, policy),
    given ? keys.totals(shard) : keys.cache(input.promptHash),
    given ? keys.totals(shard) : keys.lock(input.promptHash),
    keys.totals(shard),
    keys.bucket(shard, bucketStart(now)),
    keys.top(shard, minute),
    keys.topBlocked(shard, minute),
    keys.activeCallers(shard, bucketStart(now)),
    keys.events(shard),
    keys.hotPrompts(shard, minute),
    keys.limitIndex(shard),
  ];
  return [
    ...keyArgs,
    now,
    input.requestId,
    identity.id,
    identity.tier,
    given || input.useCache === false ? "0" : "1",
    expiresIn(bucketStart(now), BUCKET_TTL_SECONDS, now),
    expiresIn(minute * 60_000, TOP_TTL_SECONDS, now),
    streamCapPerShard(input.streamCap, input.shards),
    input.promptHash.slice(0, 12),
    WINDOW_EXPIRY_MARGIN_MS,
    input.useCache === false ? 0 : input.lockTtlMs,
    ...dimensionArgs(policy, input.promptTokens, input.maxTokens),
    TOP_CAP,
    given?.outcome ?? "",
    given?.savedTokens ?? 0,
    given?.savedMs ?? 0,
    input.door ?? "generate",
    input.model ?? "",
    input.maxAgeMs ?? 0,
    hotMember(input.promptHash, input.promptPreview),
    expiresIn(bucketStart(now), TOP_TTL_SECONDS, now),
  ];
}

/**
 * ms from now until a key of the span starting at `start` expires: `ttlSeconds`
 * after the span's start. decide.lua gives a per-bucket or per-minute key its
 * expiry once, when it creates it, so it is counted from the span, not the
 * write: the key is gone when the readers stop looking at it (liveCounterKeys
 * counts on that). One exception: store.lua sets a miss's bucket's expiry
 * again, BUCKET_TTL_SECONDS from the store, so that bucket outlives its span
 * by up to one bucket plus the generation's time. Every TTL is longer than its span, so
 * this is always positive; the floor of 1 ms only guards PEXPIRE's argument.
 */
function expiresIn(start: number, ttlSeconds: number, now: number): number {
  return Math.max(1, start + ttlSeconds * 1000 - now);
}

async function runDecide(input: DecideInput, given: GivenOutcome | null): Promise<Decision> {
  const { policy } = input;
  const reply = await input.client.fgDecide(...encodeDecideArgs(input, given));
  const num = (i: number) => Number(reply[i] ?? 0);
  const dimensions: DimensionResult[] = policy.dimensions.map((d, i) => {
    const at = REPLY.dimensions + i * REPLY.perDimension;
    return {
      ...d,
      cost: costOf(d, input.promptTokens, policy, input.maxTokens),
      allowed: num(at) === 1,
      remaining: num(at + 1),
      resetAt: num(at + 2),
      retryAfterMs: num(at + 3),
      used: num(at + 4),
      charged: num(at + 5),
    };
  });
  const allowed = num(REPLY.allowed) === 1;
  const refused = allowed ? null : (dimensions[num(REPLY.refused) - 1] ?? null);
  const deciding = refused ?? (dimensions[0] as DimensionResult);
  const cached = reply[REPLY.cached];
  return {
    allowed,
    inWindow: deciding.used,
    limit: deciding.limit,
    remaining: deciding.remaining,
    resetAt: deciding.resetAt,
    retryAfterMs: refused ? refused.retryAfterMs : 0,
    windowMs: deciding.windowMs,
    policy: deciding.name,
    cached: typeof cached === "string" ? cached : null,
    dimensions,
    refused,
    lock: LOCK_STATES[num(REPLY.lock)] ?? "none",
    decidedAt: input.now,
  };
}

/** Remaining quota in every dimension, without consuming (peek.lua). */
export async function peekLimits(input: {
  client: ValkeyClient;
  keys: KeySpace;
  shards: number;
  identity: string;
  policy: Policy;
  now: number;
}): Promise<Omit<DimensionResult, "cost" | "allowed" | "retryAfterMs">[]> {
  const { policy, now } = input;
  const shard = shardOf(input.identity, input.shards);
  const args: (string | number)[] = [];
  for (let i = 0; i < 3; i++) {
    const d = policy.dimensions[i];
    if (d) args.push(d.algorithm, d.limit, d.windowMs);
    else args.push("", 0, 1);
  }
  const reply = await input.client.fgPeek(...dimensionKeys(input.keys, shard, input.identity, policy), now, ...args);
  return policy.dimensions.map((d, i) => ({
    ...d,
    remaining: Number(reply[i * 3] ?? 0),
    resetAt: Number(reply[i * 3 + 1] ?? 0),
    used: Number(reply[i * 3 + 2] ?? 0),
  }));
}

/** Every key that can hold a limit of this identity (all dimensions × all algorithms). */
export function allLimitKeys(keys: KeySpace, shards: number, identity: string): string[] {
  const shard = shardOf(identity, shards);
  const out = new Set<string>();
  for (const kind of ["requests", "tokens", "daily"] as const) {
    for (const algorithm of ["sliding-log", "sliding-counter", "token-bucket", "fixed-window"] as const) {
      out.add(keys.rateLimit(shard, identity, kind, algorithm));
    }
  }
  return [...out];
}
