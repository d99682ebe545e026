import "server-only";
import { isGatewayError } from "@/lib/errors";
import { policyOverrides, type GatewayDeps } from "@/lib/gateway/deps";
import { policyFor } from "@/lib/gateway/policy";
import { dimensionKeys } from "@/lib/gateway/rate-limit";
import type { KeyKind, ValkeyViews } from "@/lib/schemas";
import { batches, liveCounterKeys, tierResolver } from "@/lib/stats/read-stats";
import { mergeTop, pairs, parseInfo, toNumber } from "@/lib/stats/snapshot";
import {
  LIMIT_TTL_EDGES,
  cacheTtlEdges,
  commandCounters,
  commandRows,
  consumerGroups,
  flatObject,
  latencyPercentiles,
  round,
  scriptCounters,
  slowlogEntries,
  streamInfo,
  ttlBuckets,
  withoutSlowCalls,
  zcountBounds,
  type CommandCounters,
} from "@/lib/stats/valkey-parse";
import { isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import { TIER_NAMES, type TierName } from "@/lib/tiers";
import { MEMORY_SAMPLES, MEMORY_SAMPLE_MS, bucketStart, minuteOf } from "@/lib/valkey/keys";
import { scriptNamesBySha } from "@/lib/valkey/scripts";

/**
 * GET /api/valkey: what Valkey does under the hood, at a fixed cost whatever
 * the key count (never KEYS, never SCAN).
 *
 * Round trip 1, per shard: ZCOUNT per TTL bar on the two expiry index sets
 * (cached prompts, live limit state), ZRANDMEMBER of a few members of each
 * (the memory sample), this and last minute's hot-prompt sets, XINFO STREAM
 * and XINFO GROUPS of the decision stream, MEMORY USAGE of the stream and of
 * a few counter keys, EXISTS over the counter keys, HGET of the request
 * total; once (per master on a cluster): INFO server/memory/stats/
 * commandstats/latencystats and SLOWLOG GET; and the two sample streams.
 *
 * Round trip 2: MEMORY USAGE of the sampled cache entries and limit keys,
 * ZMSCORE of the hot prompts in the cache index (their age and TTL), and,
 * when this interval has no sample yet, the sample: XADD with the interval's
 * start as its ID, so whoever polls first writes it and everyone else's XADD
 * is refused by the stream itself (at most once per interval, however many
 * instances poll, with no lock).
 *
 * Command figures "over the interval" are differences against the newest
 * sample at least MIN_SPAN_MS old. Percentiles come from INFO latencystats,
 * whose histograms are cumulative and not exposed: they cover the time since
 * the server started (or CONFIG RESETSTAT), which resetting would spoil for
 * every other client of the server, so they are labelled that way instead.
 */

/** A reading this much older than now at least, for an interval's difference, ms. */
const MIN_SPAN_MS = 5_000;
/** Keys sampled per kind for the memory estimate. */
const MEMORY_SAMPLE_KEYS = 3;
const HOT_FETCH = 20;
const HOT_N = 10;
const SLOWLOG_N = 10;
/** Command-counter samples kept: enough to find one MIN_SPAN_MS old. */
const COMMAND_SAMPLES = 4;

export const VALKEY_VIEWS_UNREADABLE = "Valkey did not answer. The cause is in the gateway's log.";

function unreadable(error: unknown): string {
  if (isGatewayError(error)) return error.message;
  console.warn("[flowgate] /api/valkey read failed:", error);
  return VALKEY_VIEWS_UNREADABLE;
}

function emptyViews(deps: GatewayDeps, error: string): ValkeyViews {
  const { config } = deps;
  const histogram = (edges: readonly number[]) => ({ total: 0, buckets: ttlBuckets(edges).map((b) => ({ ...b, count: 0 })) });
  return {
    connected: false,
    timestamp: new Date(deps.now()).toISOString(),
    error,
    memory: {
      usedBytes: 0,
      rssBytes: 0,
      peakBytes: 0,
      fragmentationRatio: 0,
      maxmemoryBytes: 0,
      policy: "",
      sampleIntervalMs: MEMORY_SAMPLE_MS,
      series: [],
      byKind: (["limits", "cache", "stream", "counters"] as const).map((kind) => ({
        kind,
        keys: 0,
        sampled: 0,
        bytesPerKey: null,
        estimatedBytes: null,
      })),
    },
    ttl: { cache: histogram(cacheTtlEdges(config.CACHE_TTL_SECONDS)), limits: histogram(LIMIT_TTL_EDGES) },
    commands: {
      intervalSeconds: null,
      usecPerScriptCall: null,
      usecPerDecision: null,
      decisionsPerSec: null,
      slowCallsExcluded: 0,
      rows: [],
      slowlog: [],
    },
    cache: { hotPrompts: [], keyspaceHits: 0, keyspaceMisses: 0, evictedKeys: 0, expiredKeys: 0 },
    stream: { length: 0, cap: config.STREAM_MAXLEN, entriesAdded: 0, eventsPerSec: null, oldestAt: null, groups: [] },
    cost: { commands: 0, roundTrips: 0 },
  };
}

/** A sample stream's entries → { id ms, fields }. */
function sampleEntries(reply: unknown): { t: number; fields: Record<string, number> }[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((entry) => {
    if (!Array.isArray(entry) || entry.length < 2) return [];
    const fields: Record<string, number> = {};
    for (const [k, v] of Object.entries(flatObject(entry[1]))) fields[k] = toNumber(v);
    return [{ t: toNumber(String(entry[0]).split("-")[0]), fields }];
  });
}

/** Command counters stored in a sample as c:<name> / u:<name>. */
function countersOf(fields: Record<string, number>): Record<string, CommandCounters> {
  const out: Record<string, CommandCounters> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k.startsWith("c:")) (out[k.slice(2)] ??= { calls: 0, usec: 0 }).calls = v;
    else if (k.startsWith("u:")) (out[k.slice(2)] ??= { calls: 0, usec: 0 }).usec = v;
  }
  return out;
}

/** The cost per unit of a difference, or null when there is none (or counters were reset). */
function perUnit(numerator: number, denominator: number): number | null {
  return denominator > 0 && numerator >= 0 ? numerator / denominator : null;
}

export async function readValkeyViews(deps: GatewayDeps): Promise<ValkeyViews> {
  const { config, keys } = deps;
  const now = deps.now();
  const shards = Array.from({ length: config.VALKEY_SHARDS }, (_, i) => i);
  const minute = minuteOf(now);
  const cacheBars = ttlBuckets(cacheTtlEdges(config.CACHE_TTL_SECONDS));
  const limitBars = ttlBuckets(LIMIT_TTL_EDGES);

  let client: ValkeyClient;
  try {
    client = await deps.valkey();
  } catch (error) {
    return emptyViews(deps, unreadable(error));
  }

  try {
    // ---- Round trip 1 ----
    const first = batches(client, shards);
    for (const s of shards) {
      const p = first.forShard(s);
      for (const bar of cacheBars) p.zcount(keys.cacheIndex(s), ...zcountBounds(now, bar));
      for (const bar of limitBars) p.zcount(keys.limitIndex(s), ...zcountBounds(now, bar));
      p.zrandmember(keys.cacheIndex(s), MEMORY_SAMPLE_KEYS);
      p.zrandmember(keys.limitIndex(s), MEMORY_SAMPLE_KEYS);
      p.zrevrange(keys.hotPrompts(s, minute), 0, HOT_FETCH - 1, "WITHSCORES");
      p.zrevrange(keys.hotPrompts(s, minute - 1), 0, HOT_FETCH - 1, "WITHSCORES");
      p.call("XINFO", "STREAM", keys.events(s));
      p.call("XINFO", "GROUPS", keys.events(s));
      p.call("MEMORY", "USAGE", keys.events(s));
      for (const key of [keys.totals(s), keys.bucket(s, bucketStart(now)), keys.top(s, minute), keys.activeCallers(s, bucketStart(now))]) {
        p.call("MEMORY", "USAGE", key);
      }
      p.exists(...liveCounterKeys(keys, s, now));
      // Requests are the doors' sum (toTotals): decide.lua keeps no counter of their own.
      p.hmget(keys.totals(s), "door:generate", "door:openai");
    }
    const servers = isClusterClient(client) ? client.nodes("master").map((node) => first.forNode(node)) : [first.forShard(0)];
    for (const p of servers) {
      p.info("server", "memory", "stats", "commandstats", "latencystats");
      p.call("SLOWLOG", "GET", SLOWLOG_N);
    }
    const home = first.forShard(0);
    home.xrange(keys.memorySeries(), "-", "+");
    home.xrevrange(keys.commandSamples(), "+", "-", "COUNT", COMMAND_SAMPLES);
    const replies = await first.runSettled();
    let commands = replies.length;

    let at = 0;
    /** The next reply; a refusal (XINFO of no stream, SLOWLOG renamed away) reads as null. */
    const next = (): unknown => {
      const [err, value] = replies[at++] ?? [null, null];
      if (err && !/no such key|unknown command/i.test(err.message)) throw err;
      return err ? null : value;
    };
    const cacheCounts = cacheBars.map(() => 0);
    const limitCounts = limitBars.map(() => 0);
    const cacheSamples: string[] = [];
    const limitSamples: { shard: number; identity: string }[] = [];
    const hotLists: [string, number][][] = [];
    const streams = [];
    const groupReplies: unknown[] = [];
    let streamBytes = 0;
    let streamKeys = 0;
    const counterBytes: number[] = [];
    let counterCount = 0;
    let requests = 0;
    for (const s of shards) {
      cacheBars.forEach((_, i) => (cacheCounts[i] = (cacheCounts[i] ?? 0) + toNumber(next())));
      limitBars.forEach((_, i) => (limitCounts[i] = (limitCounts[i] ?? 0) + toNumber(next())));
      cacheSamples.push(...((next() as string[] | null) ?? []));
      limitSamples.push(...((next() as string[] | null) ?? []).map((identity) => ({ shard: s, identity })));
      hotLists.push(pairs(next()), pairs(next()));
      const stream = next();
      if (stream) {
        const info = streamInfo(stream);
        streams.push(info);
        if (info.length > 0) streamKeys += 1;
      }
      groupReplies.push(next());
      const bytes = next();
      if (bytes !== null) streamBytes += toNumber(bytes);
      for (let i = 0; i < 4; i++) {
        const b = next();
        if (b !== null) counterBytes.push(toNumber(b));
      }
      counterCount += toNumber(next());
      requests += ((next() as unknown[] | null) ?? []).reduce((sum: number, v) => sum + toNumber(v), 0);
    }
    const infos: Record<string, string>[] = [];
    const slowlogs: unknown[] = [];
    for (const _ of servers) {
      infos.push(parseInfo(String(next() ?? "")));
      slowlogs.push(next());
    }
    const series = sampleEntries(next());
    const commandSamples = sampleEntries(next());
    const info = infos[0] ?? {};
    const sumInfo = (field: string) => infos.reduce((total, i) => total + toNumber(i[field]), 0);

    const counters = commandCounters(infos);
    const scripts = scriptCounters(counters);
    const entriesAdded = streams.reduce((total, s) => total + s.entriesAdded, 0);

    // ---- Round trip 2 ----
    const hot = mergeTop(hotLists, HOT_N);
    const hotHashes = hot.map(([member]) => member.slice(0, 64));
    const second = batches(client, shards);
    const tierOf = tierResolver(config.API_KEYS);
    const overrides = policyOverrides(config);
    const limitKeyGroups = limitSamples.map(({ shard, identity }) => {
      const tier = tierOf(identity);
      const policy = policyFor((TIER_NAMES as readonly string[]).includes(tier) ? (tier as TierName) : "anonymous", overrides);
      return { shard, keys: dimensionKeys(keys, shard, identity, policy).slice(0, policy.dimensions.length) };
    });
    for (const group of limitKeyGroups) for (const key of group.keys) second.forShard(group.shard).call("MEMORY", "USAGE", key);
    if (hotHashes.length > 0) for (const s of shards) second.forShard(s).zmscore(keys.cacheIndex(s), ...hotHashes);
    const interval = Math.floor(now / MEMORY_SAMPLE_MS) * MEMORY_SAMPLE_MS;
    const due = (series.at(-1)?.t ?? 0) < interval;
    if (due) {
      const id = `${interval}-1`;
      const p = second.forShard(0);
      p.xadd(keys.memorySeries(), "MAXLEN", MEMORY_SAMPLES, id,
        "at", now, "used", sumInfo("used_memory"), "rss", sumInfo("used_memory_rss"),
        "frag", toNumber(info.mem_fragmentation_ratio), "sc", scripts.calls, "su", scripts.usec);
      p.pexpire(keys.memorySeries(), MEMORY_SAMPLES * MEMORY_SAMPLE_MS);
      const fields = Object.entries(counters).flatMap(([name, c]) => [`c:${name}`, c.calls, `u:${name}`, c.usec]);
      p.xadd(keys.commandSamples(), "MAXLEN", COMMAND_SAMPLES, id, "at", now, "req", requests, "ea", entriesAdded, ...fields);
      p.pexpire(keys.commandSamples(), COMMAND_SAMPLES * MEMORY_SAMPLE_MS * 2);
    }
    // Cache entries live on their own slots on a cluster: one call each, sent at once.
    const cacheUsage = isClusterClient(client)
      ? Promise.all(cacheSamples.map((sha) => client.call("MEMORY", "USAGE", keys.cache(sha)).catch(() => null)))
      : Promise.resolve(null);
    if (!isClusterClient(client)) for (const sha of cacheSamples) second.forShard(0).call("MEMORY", "USAGE", keys.cache(sha));
    const secondReplies = await second.runSettled();
    const cacheUsageReplies = await cacheUsage;
    commands += secondReplies.length + cacheSamples.length * (cacheUsageReplies ? 1 : 0);
    let at2 = 0;
    const next2 = (): unknown => {
      const [err, value] = secondReplies[at2++] ?? [null, null];
      // An XADD refused for its ID means another poller wrote this interval's sample: that is the point.
      if (err && !/equal or smaller/i.test(err.message)) throw err;
      return err ? null : value;
    };
    const limitBytes: number[] = [];
    for (const group of limitKeyGroups) {
      let bytes = 0;
      let found = false;
      for (const _ of group.keys) {
        const b = next2();
        if (b !== null) {
          bytes += toNumber(b);
          found = true;
        }
      }
      if (found) limitBytes.push(bytes);
    }
    const expiries = hotHashes.map(() => 0);
    if (hotHashes.length > 0) {
      for (const _ of shards) {
        const scores = (next2() as (string | null)[] | null) ?? [];
        scores.forEach((score, i) => (expiries[i] = Math.max(expiries[i] ?? 0, toNumber(score))));
      }
    }
    if (due) for (let i = 0; i < 4; i++) next2();
    const cacheBytes = (cacheUsageReplies ?? cacheSamples.map(() => next2())).filter((b) => b !== null).map(toNumber);

    // ---- The views ----
    const total = (counts: number[]) => counts.reduce((sum, n) => sum + n, 0);
    const cachedKeys = total(cacheCounts);
    const limitCallers = total(limitCounts);
    const kind = (k: KeyKind, count: number, sampled: number[]) => {
      const mean = sampled.length > 0 ? sampled.reduce((a, b) => a + b, 0) / sampled.length : null;
      return {
        kind: k,
        keys: count,
        sampled: sampled.length,
        bytesPerKey: mean === null ? null : Math.round(mean),
        estimatedBytes: mean === null ? null : Math.round(mean * count),
      };
    };

    // The interval: against the newest command sample at least MIN_SPAN_MS old.
    const base = commandSamples.find((sample) => now - (sample.fields.at ?? sample.t) >= MIN_SPAN_MS) ?? null;
    const spanMs = base ? now - (base.fields.at ?? base.t) : null;
    const baseCounters = base ? countersOf(base.fields) : null;
    const baseScripts = baseCounters ? scriptCounters(baseCounters) : null;
    const seconds = spanMs ? spanMs / 1000 : null;
    const slowlog = slowlogEntries(slowlogs, scriptNamesBySha(), SLOWLOG_N);
    const scriptDelta = base && baseScripts
      ? withoutSlowCalls({ calls: scripts.calls - baseScripts.calls, usec: scripts.usec - baseScripts.usec }, slowlog, base.fields.at ?? base.t)
      : { calls: 0, usec: 0, excluded: 0 };
    const dScriptCalls = scriptDelta.calls;
    const dScriptUsec = scriptDelta.usec;
    const dRequests = base ? requests - (base.fields.req ?? 0) : 0;
    const dEntries = base ? entriesAdded - (base.fields.ea ?? 0) : 0;
    const usecPerScriptCall = base ? perUnit(dScriptUsec, dScriptCalls) : null;
    const usecPerDecision = base ? perUnit(dScriptUsec, dRequests) : null;

    const memorySeries = series.map((sample, i) => {
      const before = series[i - 1];
      const dt = before ? ((sample.fields.at ?? sample.t) - (before.fields.at ?? before.t)) / 1000 : 0;
      const calls = before ? (sample.fields.sc ?? 0) - (before.fields.sc ?? 0) : -1;
      const usec = before ? (sample.fields.su ?? 0) - (before.fields.su ?? 0) : -1;
      return {
        t: sample.t,
        usedBytes: sample.fields.used ?? 0,
        rssBytes: sample.fields.rss ?? 0,
        fragmentationRatio: sample.fields.frag ?? 0,
        scriptCallsPerSec: before && dt > 0 && calls >= 0 ? round(calls / dt, 1) : null,
        scriptUsecPerCall: calls > 0 && usec >= 0 ? round(usec / calls, 2) : null,
      };
    });

    return {
      connected: true,
      timestamp: new Date(now).toISOString(),
      memory: {
        usedBytes: sumInfo("used_memory"),
        rssBytes: sumInfo("used_memory_rss"),
        peakBytes: sumInfo("used_memory_peak"),
        fragmentationRatio: toNumber(info.mem_fragmentation_ratio),
        maxmemoryBytes: sumInfo("maxmemory"),
        policy: info.maxmemory_policy ?? "",
        sampleIntervalMs: MEMORY_SAMPLE_MS,
        series: memorySeries,
        byKind: [
          kind("limits", limitCallers, limitBytes),
          kind("cache", cachedKeys, cacheBytes),
          kind("stream", streamKeys, streamKeys > 0 ? [streamBytes / streamKeys] : []),
          kind("counters", counterCount, counterBytes),
        ],
      },
      ttl: {
        cache: { total: cachedKeys, buckets: cacheBars.map((b, i) => ({ ...b, count: cacheCounts[i] ?? 0 })) },
        limits: { total: limitCallers, buckets: limitBars.map((b, i) => ({ ...b, count: limitCounts[i] ?? 0 })) },
      },
      commands: {
        intervalSeconds: seconds === null ? null : round(seconds, 1),
        usecPerScriptCall: usecPerScriptCall === null ? null : round(usecPerScriptCall, 2),
        usecPerDecision: usecPerDecision === null ? null : round(usecPerDecision, 2),
        decisionsPerSec: seconds && dRequests >= 0 ? round(dRequests / seconds, 1) : null,
        slowCallsExcluded: scriptDelta.excluded,
        rows: commandRows(counters, baseCounters, spanMs, latencyPercentiles(infos)),
        slowlog,
      },
      cache: {
        hotPrompts: hot.map(([member, hits], i) => {
          const expiry = expiries[i] ?? 0;
          const ttlMs = expiry > now ? expiry - now : null;
          return {
            hash: member.slice(0, 12),
            preview: member.length > 65 ? member.slice(65) : null,
            hits,
            ttlSeconds: ttlMs === null ? null : Math.round(ttlMs / 1000),
            ageSeconds: ttlMs === null ? null : Math.max(0, Math.round(config.CACHE_TTL_SECONDS - ttlMs / 1000)),
          };
        }),
        keyspaceHits: sumInfo("keyspace_hits"),
        keyspaceMisses: sumInfo("keyspace_misses"),
        evictedKeys: sumInfo("evicted_keys"),
        expiredKeys: sumInfo("expired_keys"),
      },
      stream: {
        length: streams.reduce((sum, s) => sum + s.length, 0),
        cap: config.STREAM_MAXLEN,
        entriesAdded,
        eventsPerSec: seconds && dEntries >= 0 ? round(dEntries / seconds, 1) : null,
        oldestAt: streams.reduce<number | null>((oldest, s) => (s.firstAt === null ? oldest : oldest === null ? s.firstAt : Math.min(oldest, s.firstAt)), null),
        groups: consumerGroups(groupReplies),
      },
      cost: { commands, roundTrips: 2 },
    };
  } catch (error) {
    return emptyViews(deps, unreadable(error));
  }
}
