/**
 * Stats at scale: /api/stats latency with 0, 100,000 and 1,000,000 keys of
 * the app's own kinds in Valkey: half rate-limit windows (a sorted set with a
 * member, PEXPIRE), half cached prompts (the JSON a miss stores, with TTL),
 * each with its index entry so the stats' counts are right. Names come from
 * lib/valkey/keys.ts; a Lua script writes them server-side in batches. Each
 * size is measured in alternation with a twin app server whose Valkey stays
 * empty.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { DEFAULT_MODEL, planGeneration } from "@/lib/gateway/model";
import { bucketStart, createKeySpace } from "@/lib/valkey/keys";
import { summarize, type LatencySummary } from "../lib/percentiles";
import { log } from "./support";

/*
  KEYS[1]     "rl": the active callers' HyperLogLog of this 10 s bucket; "cache": the cached-prompt index, score = expiry (Unix ms)
  KEYS[2..n]  the keys to create
  ARGV[1]     "rl" (window: ZADD one member, PEXPIRE) or "cache" (SET with PX)
  ARGV[2]     now, Unix ms
  ARGV[3]     lifetime, ms
  ARGV[4]     the cached JSON ("cache" only)
  ARGV[5..]   each key's index member (identity or prompt hash), in KEYS order
*/
const FILL_LUA = `
local kind, now, ttl, body = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = 2, #KEYS do
  if kind == "rl" then
    redis.call("ZADD", KEYS[i], now, "fill-" .. i)
    redis.call("PEXPIRE", KEYS[i], ttl)
  else
    redis.call("SET", KEYS[i], body, "PX", ttl)
  end
  if kind == "rl" then
    redis.call("PFADD", KEYS[1], ARGV[i + 3])
    redis.call("PEXPIRE", KEYS[1], ttl)
  else
    redis.call("ZADD", KEYS[1], now + ttl, ARGV[i + 3])
  end
end
return #KEYS - 1
`;

export interface StatsPhase {
  keys: number;
  /** DBSIZE and what /api/stats counted, so the fill is known to be seen. */
  dbsize: number;
  reportedWindows: number;
  reportedCached: number;
  fillSeconds: number;
  /** The filled server's /api/stats. */
  latency: LatencySummary;
  /** Its empty twin's, measured in alternation with it. */
  emptyLatency: LatencySummary;
  /** Valkey CPU per /api/stats on the filled server, µs (INFO commandstats, all commands). */
  serverMicros: number;
  /** Commands one /api/stats sends (its own count, `cost.commands`). */
  commands: number;
  /** GET /api/valkey (the "under the hood" views), measured the same way right after. */
  views: { latency: LatencySummary; emptyLatency: LatencySummary; serverMicros: number; commands: number };
}

export interface StatsResult {
  requestsPerPhase: number;
  phases: StatsPhase[];
}

async function fill(redis: Redis, total: number, lifetimeMs: number): Promise<void> {
  const keys = createKeySpace("fg:");
  const body = JSON.stringify({ ...planGeneration("bench: a cached prompt", DEFAULT_MODEL, 600), createdAt: Date.now() });
  const sha = String(await redis.script("LOAD", FILL_LUA));
  const batch = 2000;
  const windows = Math.floor(total / 2);
  const jobs: { kind: "rl" | "cache"; from: number; to: number }[] = [];
  for (let i = 0; i < windows; i += batch) jobs.push({ kind: "rl", from: i, to: Math.min(windows, i + batch) });
  for (let i = 0; i < total - windows; i += batch) jobs.push({ kind: "cache", from: i, to: Math.min(total - windows, i + batch) });
  const now = Date.now();
  // A few batches in flight keep the server busy without queueing megabytes.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (!job) break;
        const names: string[] = [];
        const members: string[] = [];
        for (let i = job.from; i < job.to; i++) {
          if (job.kind === "rl") {
            const identity = `ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
            names.push(keys.rateLimit(0, identity));
            members.push(identity);
          } else {
            const hash = createHash("sha256").update(`bench fill ${i}`).digest("hex");
            names.push(keys.cache(hash));
            members.push(hash);
          }
        }
        const index = job.kind === "rl" ? keys.activeCallers(0, bucketStart(now)) : keys.cacheIndex(0);
        await redis.evalsha(sha, names.length + 1, index, ...names, job.kind, now, lifetimeMs, body, ...members);
      }
    }),
  );
}

type StatsBody = { connected: boolean; keyDistribution: { rateLimit: number; cache: number }; cost: { commands: number } };
type Route = "/api/stats" | "/api/valkey";

async function getStats(appUrl: string, route: Route = "/api/stats"): Promise<StatsBody> {
  const res = await fetch(`${appUrl}${route}`);
  const body = (await res.json()) as StatsBody;
  if (!res.ok || !body.connected) throw new Error(`${route} answered ${res.status} connected=${body.connected}`);
  return body;
}

async function timed(appUrl: string, route: Route): Promise<number> {
  const t = performance.now();
  await getStats(appUrl, route);
  return performance.now() - t;
}

/** Valkey CPU since the last RESETSTAT, µs, all commands but CONFIG's (the bench's own). */
async function serverUsec(redis: Redis): Promise<number> {
  let usec = 0;
  for (const line of (await redis.info("commandstats")).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=\d+,usec=(\d+)/.exec(line);
    if (m?.[1] && !m[1].startsWith("config")) usec += Number(m[2]);
  }
  return usec;
}

/** One route timed on both servers in alternation; the filled server's Valkey CPU per call. */
async function measureRoute(apps: { filled: string; empty: string }, redis: Redis, route: Route, requests: number) {
  for (let i = 0; i < 20; i++) {
    await getStats(apps.filled, route);
    await getStats(apps.empty, route);
  }
  const filled: number[] = [];
  const empty: number[] = [];
  await redis.config("RESETSTAT");
  for (let i = 0; i < requests; i++) {
    if (i % 2 === 0) {
      filled.push(await timed(apps.filled, route));
      empty.push(await timed(apps.empty, route));
    } else {
      empty.push(await timed(apps.empty, route));
      filled.push(await timed(apps.filled, route));
    }
  }
  const usec = await serverUsec(redis);
  const seen = await getStats(apps.filled, route);
  return {
    latency: summarize(filled),
    emptyLatency: summarize(empty),
    serverMicros: Math.round((usec / requests) * 10) / 10,
    commands: seen.cost.commands,
    seen,
  };
}

/**
 * Two identical app servers: one on the Valkey being filled, one on a Valkey
 * that stays empty. Each sample times both, in alternating order, so a burst
 * of noise on this shared machine lands on both sides of the ratio. The
 * 0-key phase (both empty) shows how close to 1 the ratio is by itself.
 */
export async function measureStatsAtScale(
  apps: { filled: string; empty: string },
  redis: Redis,
  opts: { sizes: number[]; requests: number },
): Promise<StatsResult> {
  const phases: StatsPhase[] = [];
  for (const size of opts.sizes) {
    await redis.flushall();
    const t = performance.now();
    // Ten minutes: nothing expires while it is measured.
    if (size > 0) await fill(redis, size, 600_000);
    const fillSeconds = (performance.now() - t) / 1000;
    const dbsize = await redis.dbsize();
    const stats = await measureRoute(apps, redis, "/api/stats", opts.requests);
    const { seen: _seen, ...views } = await measureRoute(apps, redis, "/api/valkey", opts.requests);
    const phase: StatsPhase = {
      keys: size,
      dbsize,
      reportedWindows: stats.seen.keyDistribution.rateLimit,
      reportedCached: stats.seen.keyDistribution.cache,
      fillSeconds,
      latency: stats.latency,
      emptyLatency: stats.emptyLatency,
      serverMicros: stats.serverMicros,
      commands: stats.commands,
      views,
    };
    phases.push(phase);
    log(
      `stats: ${size.toLocaleString("en-US")} keys (filled in ${fillSeconds.toFixed(1)} s): p50 ${phase.latency.p50.toFixed(2)} / ${phase.emptyLatency.p50.toFixed(2)} ms, p99 ${phase.latency.p99.toFixed(2)} / ${phase.emptyLatency.p99.toFixed(2)} ms (filled / empty), Valkey ${phase.serverMicros} µs and ${phase.commands} commands per stats; /api/valkey p50 ${views.latency.p50.toFixed(2)} / ${views.emptyLatency.p50.toFixed(2)} ms, Valkey ${views.serverMicros} µs and ${views.commands} commands per call`,
    );
  }
  await redis.flushall();
  return { requestsPerPhase: opts.requests, phases };
}
