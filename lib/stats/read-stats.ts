import "server-only";
import { isGatewayError } from "@/lib/errors";
import { hashApiKey } from "@/lib/gateway/identity";
import type { GatewayDeps } from "@/lib/gateway/deps";
import { latencySummary } from "@/lib/gateway/latency";
import type { Stats } from "@/lib/schemas";
import { isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import {
  BUCKET_MS,
  BUCKET_TTL_SECONDS,
  CHART_BUCKETS,
  bucketStart,
  minuteOf,
} from "@/lib/valkey/keys";
import {
  hitRatio,
  mergeActivity,
  mergeInfos,
  mergeTop,
  numericHash,
  pairs,
  parseInfo,
  sumHashes,
  sumRecent,
  toActivityEvent,
  toDoorTotals,
  toNumber,
  toTimeBucket,
  toTotals,
  toTopConsumer,
  toValkeyInfo,
} from "@/lib/stats/snapshot";

/**
 * The dashboard's snapshot. Its cost is fixed: per shard, the totals hash, the
 * chart's time buckets, the top-20 of this minute's and last minute's
 * consumer sets, the stream's tail and length, one PFCOUNT over the last
 * minute's caller HyperLogLogs, a ZCOUNT on the cache index and one EXISTS
 * over the counter keys that can be alive; once, INFO and DBSIZE. Never KEYS,
 * never SCAN: nothing here grows with the number of keys. Two round trips:
 * the snapshot, then the blocked counts of the top consumers (ZMSCORE on this
 * minute's and last minute's blocked sets).
 *
 * On a single server each round trip is one pipeline. On a cluster a
 * pipeline must stay on one slot, so each round trip is one pipeline per
 * shard (all of a shard's keys share its tag), sent at once, and the first
 * also asks every master for INFO and DBSIZE: still a fixed number of calls
 * (shards + masters, then shards), whatever the keyspace holds.
 */

const TOP_N = 10;
const TOP_FETCH = 20;
const ACTIVITY_N = 20;

export function tierResolver(apiKeys: GatewayDeps["config"]["API_KEYS"]): (id: string) => string {
  const byHash = new Map(apiKeys.map((entry) => [`key:${hashApiKey(entry.key)}`, entry.tier]));
  return (id) => {
    if (id.startsWith("ip:")) return "anonymous";
    if (id.startsWith("sim:")) return id.split(":")[1] ?? "anonymous";
    return byHash.get(id) ?? "unknown";
  };
}

/** /api/stats's `error` when Valkey did not answer the snapshot; ioredis's words go to the log. */
export const STATS_UNREADABLE = "Valkey did not answer the stats snapshot. The cause is in the gateway's log.";

/**
 * Why the snapshot is empty, in words a client may read. A GatewayError's
 * sentence is ours (Valkey not reachable, its credentials refused); anything
 * else came from ioredis or the OS and is logged, never returned.
 */
function unreadable(error: unknown): string {
  if (isGatewayError(error)) return error.message;
  console.warn("[flowgate] stats snapshot failed:", error);
  return STATS_UNREADABLE;
}

function emptyStats(deps: GatewayDeps, error: string): Stats {
  const { config } = deps;
  return {
    connected: false,
    timestamp: new Date(deps.now()).toISOString(),
    error,
    rateLimit: {
      totalKeys: 0,
      topConsumers: [],
      blockedRequests: 0,
      requestsPerMinute: 0,
      blockedPerMinute: 0,
      anonymousPolicy: { limit: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS },
    },
    cache: {
      hits: 0,
      misses: 0,
      total: 0,
      hitRatio: 0,
      cachedKeys: 0,
      tokensSaved: 0,
      timeSavedMs: 0,
      tokensGenerated: 0,
      costSaved: 0,
      pricePer1kTokens: config.PRICE_PER_1K_TOKENS,
      ttlSeconds: config.CACHE_TTL_SECONDS,
    },
    totals: { requests: 0, allowed: 0, blocked: 0, hits: 0, misses: 0, generations: 0, generationMs: 0, doors: { generate: 0, openai: 0 } },
    activity: [],
    timeseries: [],
    keyDistribution: { rateLimit: 0, cache: 0, stream: 0, counters: 0 },
    totalKeys: 0,
    stream: { length: 0, cap: config.STREAM_MAXLEN },
    valkey: null,
    latency: latencySummary(),
    cost: { commands: 0, roundTrips: 0 },
  };
}

type Pipeline = ReturnType<ValkeyClient["pipeline"]>;

/**
 * Pipelines for one round trip: a single one on a single server; on a
 * cluster one per shard (its keys share one slot) and one per master node.
 * run() sends them all at once and returns the replies in the order the
 * pipelines were first asked for, throwing the first error.
 */
export function batches(client: ValkeyClient, shards: number[]) {
  const order: Pipeline[] = [];
  const take = (make: () => Pipeline): Pipeline => {
    const pipeline = make();
    order.push(pipeline);
    return pipeline;
  };
  const single = isClusterClient(client) ? null : take(() => client.pipeline());
  const byShard = new Map<number, Pipeline>();
  return {
    forShard(shard: number): Pipeline {
      if (single) return single;
      let pipeline = byShard.get(shard);
      if (!pipeline && shards.includes(shard)) pipeline = take(() => client.pipeline());
      if (!pipeline) throw new Error(`shard ${shard} is not one of ${shards.length}`);
      byShard.set(shard, pipeline);
      return pipeline;
    },
    forNode(node: ValkeyClient): Pipeline {
      return take(() => node.pipeline());
    },
    async run(): Promise<unknown[]> {
      return (await this.runSettled()).map(([err, value]) => {
        if (err) throw err;
        return value;
      });
    },
    /** As run(), but each reply with its own error: for commands whose refusal is an answer (XINFO on no stream). */
    async runSettled(): Promise<[Error | null, unknown][]> {
      const replies = await Promise.all(order.map((pipeline) => pipeline.exec()));
      const values: [Error | null, unknown][] = [];
      for (const reply of replies) {
        if (!reply) throw new Error("pipeline returned nothing");
        values.push(...reply);
      }
      return values;
    },
  };
}

/**
 * The counter keys that can be alive in a shard: the totals hash, the time
 * buckets still alive, this and last minute's consumer and hot-prompt sets,
 * two minutes of caller HyperLogLogs. EXISTS over them counts the live ones.
 */
export function liveCounterKeys(keys: GatewayDeps["keys"], shard: number, now: number): string[] {
  const lastBucket = bucketStart(now);
  const minute = minuteOf(now);
  const liveStarts = Array.from({ length: Math.ceil((BUCKET_TTL_SECONDS * 1000) / BUCKET_MS) }, (_, i) => lastBucket - i * BUCKET_MS);
  return [
    keys.totals(shard),
    ...liveStarts.map((t) => keys.bucket(shard, t)),
    ...liveStarts.slice(0, 12).map((t) => keys.activeCallers(shard, t)),
    keys.top(shard, minute),
    keys.top(shard, minute - 1),
    keys.topBlocked(shard, minute),
    keys.topBlocked(shard, minute - 1),
    keys.hotPrompts(shard, minute),
    keys.hotPrompts(shard, minute - 1),
  ];
}

export async function readStats(deps: GatewayDeps): Promise<Stats> {
  const { config, keys } = deps;
  const now = deps.now();
  const shards = Array.from({ length: config.VALKEY_SHARDS }, (_, i) => i);
  const minute = minuteOf(now);
  const lastBucket = bucketStart(now);
  const chartStarts = Array.from({ length: CHART_BUCKETS }, (_, i) => lastBucket - (CHART_BUCKETS - 1 - i) * BUCKET_MS);
  const recentStarts = Array.from({ length: 60_000 / BUCKET_MS }, (_, i) => lastBucket - i * BUCKET_MS);

  let client;
  try {
    client = await deps.valkey();
  } catch (error) {
    return emptyStats(deps, unreadable(error));
  }

  try {
    const started = performance.now();
    const queue = batches(client, shards);
    for (const s of shards) {
      const pipeline = queue.forShard(s);
      pipeline.hgetall(keys.totals(s));
      for (const t of chartStarts) pipeline.hgetall(keys.bucket(s, t));
      pipeline.zrevrange(keys.top(s, minute), 0, TOP_FETCH - 1, "WITHSCORES");
      pipeline.zrevrange(keys.top(s, minute - 1), 0, TOP_FETCH - 1, "WITHSCORES");
      pipeline.xrevrange(keys.events(s), "+", "-", "COUNT", ACTIVITY_N);
      // Distinct callers of the last minute: one HyperLogLog per 10 s bucket, merged by PFCOUNT.
      pipeline.pfcount(...recentStarts.map((t) => keys.activeCallers(s, t)));
      pipeline.zcount(keys.cacheIndex(s), now, "+inf");
      pipeline.xlen(keys.events(s));
      pipeline.exists(...liveCounterKeys(keys, s, now));
    }
    // INFO and DBSIZE: of the server, or of every master of the cluster.
    const servers = isClusterClient(client) ? client.nodes("master").map((node) => queue.forNode(node)) : [queue.forShard(0)];
    for (const pipeline of servers) {
      pipeline.info("server", "clients", "memory", "stats");
      pipeline.dbsize();
    }
    const values = await queue.run();
    let firstRoundTripMs = performance.now() - started;

    let at = 0;
    const next = () => values[at++];
    const totalsByShard: Record<string, number>[] = [];
    const bucketSums = new Map<number, Record<string, number>>();
    const topLists: [string, number][][] = [];
    const activityLists = [];
    let recentCallers = 0;
    let cachedKeys = 0;
    let streamLength = 0;
    let streamKeys = 0;
    let counterKeys = 0;
    for (const _ of shards) {
      totalsByShard.push(numericHash(next()));
      for (const t of chartStarts) {
        bucketSums.set(t, sumHashes([bucketSums.get(t) ?? {}, numericHash(next())]));
      }
      topLists.push(pairs(next()), pairs(next()));
      activityLists.push(
        ((next() as unknown[]) ?? []).map(toActivityEvent).filter((e): e is NonNullable<typeof e> => e !== null),
      );
      recentCallers += toNumber(next());
      cachedKeys += toNumber(next());
      const length = toNumber(next());
      streamLength += length;
      if (length > 0) streamKeys += 1;
      counterKeys += toNumber(next());
    }
    const infos: Record<string, string>[] = [];
    let dbsize = 0;
    for (const _ of servers) {
      infos.push(parseInfo(String(next() ?? "")));
      dbsize += toNumber(next());
    }
    const info = mergeInfos(infos);

    // Second round trip: exact blocked counts of the top consumers.
    const top = mergeTop(topLists, TOP_N);
    const blockedBy = new Map<string, number>();
    let commands = values.length;
    if (top.length > 0) {
      const members = top.map(([member]) => member);
      const second = batches(client, shards);
      for (const s of shards) {
        second.forShard(s).zmscore(keys.topBlocked(s, minute), ...members);
        second.forShard(s).zmscore(keys.topBlocked(s, minute - 1), ...members);
      }
      const blockedReplies = await second.run();
      commands += blockedReplies.length;
      for (const scores of blockedReplies) {
        (scores as (string | null)[]).forEach((score, i) => {
          const member = members[i] as string;
          blockedBy.set(member, (blockedBy.get(member) ?? 0) + toNumber(score));
        });
      }
    }

    const totals = toTotals(sumHashes(totalsByShard));
    const timeseries = chartStarts.map((t) => toTimeBucket(t, bucketSums.get(t) ?? {}));
    const tierOf = tierResolver(config.API_KEYS);
    const hits = totals.hits ?? 0;
    const misses = totals.misses ?? 0;
    const tokensSaved = totals.tokens_saved ?? 0;
    firstRoundTripMs = Math.round(firstRoundTripMs * 100) / 100;

    return {
      connected: true,
      timestamp: new Date(now).toISOString(),
      rateLimit: {
        totalKeys: recentCallers,
        topConsumers: top.map(([id, requests]) => toTopConsumer(id, requests, blockedBy.get(id) ?? 0, tierOf)),
        blockedRequests: totals.blocked ?? 0,
        requestsPerMinute: sumRecent(timeseries, "requests", now, 60_000),
        blockedPerMinute: sumRecent(timeseries, "blocked", now, 60_000),
        anonymousPolicy: { limit: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS },
      },
      cache: {
        hits,
        misses,
        total: hits + misses,
        hitRatio: hitRatio(hits, misses),
        cachedKeys,
        tokensSaved,
        timeSavedMs: totals.time_saved_ms ?? 0,
        tokensGenerated: totals.tokens_generated ?? 0,
        costSaved: (tokensSaved / 1000) * config.PRICE_PER_1K_TOKENS,
        pricePer1kTokens: config.PRICE_PER_1K_TOKENS,
        ttlSeconds: config.CACHE_TTL_SECONDS,
      },
      totals: {
        requests: totals.requests ?? 0,
        allowed: totals.allowed ?? 0,
        blocked: totals.blocked ?? 0,
        hits,
        misses,
        generations: totals.generations ?? 0,
        generationMs: totals.generation_ms ?? 0,
        doors: toDoorTotals(totals),
      },
      activity: mergeActivity(activityLists, ACTIVITY_N),
      timeseries,
      keyDistribution: {
        rateLimit: recentCallers,
        cache: cachedKeys,
        stream: streamKeys,
        counters: counterKeys,
      },
      totalKeys: dbsize,
      stream: { length: streamLength, cap: config.STREAM_MAXLEN },
      valkey: toValkeyInfo(info, firstRoundTripMs),
      latency: latencySummary(),
      cost: { commands, roundTrips: top.length > 0 ? 2 : 1 },
    };
  } catch (error) {
    return emptyStats(deps, unreadable(error));
  }
}
