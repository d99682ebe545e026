/**
 * Memory, on a Valkey of its own (so other phases' keys do not blur it),
 * through the real request path (lib/gateway/pipeline.ts runGatewayToEnd, in this
 * process) with a 20 s window and a private prefix. The window is as short
 * as it can be while every one of the 100,000 windows is still alive at the
 * peak reading: sending them takes ~10 s on this machine beside the build.
 *
 * 1. sizes: 1,000 clients each send one new prompt; MEMORY USAGE (exact,
 *    SAMPLES 0) of every window and every cache entry, averaged.
 * 2. baseline: warm-up traffic fills the stream to its cap and creates the
 *    counters; once its windows have expired, used_memory is the baseline.
 *    Every reading leaves out client connection buffers (MEMORY STATS
 *    clients.normal), which follow the size of the last command and reply,
 *    not the keyspace.
 * 3. 100,000 distinct clients send one request each (one cached prompt, so
 *    each is one decide); used_memory at the peak.
 * 4. once their windows expire (and one request trims the active index),
 *    used_memory again, with what still holds memory by design: this and last
 *    minute's top-consumer sets (TTL 120 s) and the time buckets (1 h).
 * 5. at the end of the bench, once the top-consumer sets have expired too,
 *    used_memory a last time: it must be back within a few % of the baseline.
 */
import type { Redis } from "ioredis";
import { createGatewayDeps, type GatewayDeps } from "@/lib/gateway/deps";
import { DEFAULT_MODEL } from "@/lib/gateway/model";
import { runGatewayToEnd } from "@/lib/gateway/pipeline";
import { hashPrompt } from "@/lib/gateway/prompt-cache";
import { parseConfig } from "@/lib/config";
import { bucketStart, createKeySpace, minuteOf, TOP_TTL_SECONDS } from "@/lib/valkey/keys";
import { log, sleep } from "./support";

export interface MemoryResult {
  sampleClients: number;
  /** MEMORY USAGE averages, bytes. */
  bytesPerWindow: number;
  bytesPerCachedPrompt: number;
  /** The index entries, bytes per member (MEMORY USAGE of the index / members). */
  /** One bucket's HyperLogLog of active callers, bytes (fixed: at most 12 KB). */
  activeCallersBytes: number;
  bytesPerCacheIndexEntry: number;
  clients: number;
  windowMs: number;
  clientsSeconds: number;
  /** used_memory less client buffers (MemorySnapshot.net), bytes. */
  baseline: number;
  peak: number;
  /** What made up used_memory at the baseline, the peak, after the windows and at the end. */
  snapshots: Record<"baseline" | "peak" | "afterWindows" | "final", MemorySnapshot | null>;
  /** used_memory delta / clients at the peak: window + index entry + top-set entries + allocator. */
  bytesPerClientAllIn: number;
  afterWindows: number;
  afterWindowsHeldBy: Record<string, number>;
  /** Filled in by finish(). */
  final: number | null;
  finalWaitSeconds: number | null;
  streamLength: number;
}

export interface MemoryPhase {
  result: MemoryResult;
  /** Wait for the top-consumer sets of the 100,000 to expire, then take the last reading. */
  finish(): Promise<MemoryResult>;
}

/** The parts of MEMORY STATS that explain a difference in used_memory, bytes. */
export interface MemorySnapshot {
  /** used_memory, bytes. */
  used: number;
  /** Client connection buffers (query and output): they follow the last command's size, not the keyspace. */
  clients: number;
  /** used - clients: what the keyspace and the server itself hold; the figure compared with the baseline. */
  net: number;
  /** The keyspace's own hash table buckets, which Valkey shrinks later, on its cron. */
  keyTable: number;
  dataset: number;
  keys: number;
  /** MEMORY USAGE of each key (only while there are few: the bench may SCAN its own server). */
  perKey: Record<string, number>;
  /** Their sum: what the keys themselves hold. */
  keyBytes: number;
}

async function snapshot(redis: Redis): Promise<MemorySnapshot> {
  const flat = (await redis.call("MEMORY", "STATS")) as unknown[];
  const stats = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) stats.set(String(flat[i]), flat[i + 1]);
  const num = (name: string) => Number(stats.get(name) ?? 0);
  const perKey: Record<string, number> = {};
  if (num("keys.count") <= 100) {
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "COUNT", 100);
      cursor = next;
      for (const key of batch) perKey[key] = Number((await redis.memory("USAGE", key, "SAMPLES", 0)) ?? 0);
    } while (cursor !== "0");
  }
  return {
    perKey,
    keyBytes: Object.values(perKey).reduce((a, b) => a + b, 0),
    used: num("total.allocated"),
    clients: num("clients.normal"),
    net: num("total.allocated") - num("clients.normal"),
    keyTable: num("overhead.db.hashtable.lut") + num("overhead.db.hashtable.rehashing"),
    dataset: num("dataset.bytes"),
    keys: num("keys.count"),
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("memory: timed out waiting for keys to expire");
    await sleep(250);
  }
}

async function average(redis: Redis, keys: string[]): Promise<number> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.memory("USAGE", key, "SAMPLES", 0);
  const replies = (await pipeline.exec()) ?? [];
  const sizes = replies.map(([, v]) => Number(v)).filter((v) => Number.isFinite(v) && v > 0);
  return sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
}

async function runClients(deps: GatewayDeps, count: number, identity: (i: number) => string, prompt: (i: number) => string, concurrency = 64): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const result = await runGatewayToEnd(deps, {
          door: "generate",
          identity: { id: identity(i), kind: "ip", tier: "anonymous" },
          model: DEFAULT_MODEL,
          messages: [{ role: "user", content: prompt(i) }],
        });
        if (result.kind !== "hit" && result.kind !== "miss" && result.kind !== "blocked") {
          throw new Error(`memory: request ${i} was ${result.kind}`);
        }
      }
    }),
  );
}

export async function startMemoryPhase(redis: Redis, client: Redis, url: string, opts: { clients: number; sampleClients: number }): Promise<MemoryPhase> {
  const prefix = "bm:";
  const keys = createKeySpace(prefix);
  const depsWith = (windowMs: number): GatewayDeps =>
    createGatewayDeps(
      parseConfig({
        VALKEY_URL: url,
        VALKEY_PREFIX: prefix,
        RATE_LIMIT_WINDOW_MS: String(windowMs),
        RATE_LIMIT_MAX: "10",
        SIMULATED_LATENCY_MS: "0",
        LOG_VALKEY_ERRORS: "false",
      }),
      async () => client,
    );
  // The 100,000 clients' window; the warm-up and the single trimming requests use 2 s.
  const windowMs = 20_000;
  const deps = depsWith(2000);
  const clientsDeps = depsWith(windowMs);
  /** True once none of these clients' windows exists any more (expired and reclaimed by Valkey). */
  const windowsGone = (ids: string[]) => async () => {
    const pipeline = redis.pipeline();
    // Small commands: a large one would grow the server's query buffer, which used_memory then counts.
    for (let i = 0; i < ids.length; i += 100) pipeline.exists(...ids.slice(i, i + 100).map((id) => keys.rateLimit(0, id)));
    const replies = (await pipeline.exec()) ?? [];
    return replies.every(([, n]) => Number(n) === 0);
  };

  // 1. Sizes of one window and one cached prompt.
  await redis.flushall();
  const sampleIp = (i: number) => `ip:203.0.${(i >> 8) & 255}.${i & 255}`;
  const samplePrompt = (i: number) => `memory sample: what is request number ${i} about?`;
  await runClients(clientsDeps, opts.sampleClients, sampleIp, samplePrompt);
  const windowKeys = Array.from({ length: opts.sampleClients }, (_, i) => keys.rateLimit(0, sampleIp(i)));
  const cacheKeys = Array.from({ length: opts.sampleClients }, (_, i) => keys.cache(hashPrompt(samplePrompt(i), DEFAULT_MODEL)));
  const bytesPerWindow = await average(redis, windowKeys);
  const bytesPerCachedPrompt = await average(redis, cacheKeys);
  const indexBytes = async (key: string) => Number(await redis.memory("USAGE", key, "SAMPLES", 0)) / Math.max(1, await redis.zcard(key));
  // Active callers are a HyperLogLog per 10 s bucket: fixed size, whatever the number of callers.
  const activeCallersBytes = Number((await redis.memory("USAGE", keys.activeCallers(0, bucketStart(Date.now())), "SAMPLES", 0)) ?? 0);
  const bytesPerCacheIndexEntry = await indexBytes(keys.cacheIndex(0));

  // 2. Baseline: a full stream, the counters, one cached prompt, no live windows.
  await redis.flushall();
  const prompt = () => "memory: the one prompt every client asks";
  const warmIp = (i: number) => `ip:192.0.2.${i % 20}`;
  await runClients(deps, 1200, warmIp, prompt, 16);
  await waitUntil(windowsGone(Array.from({ length: 20 }, (_, i) => warmIp(i))), 30_000);
  await runClients(deps, 1, () => "ip:192.0.2.250", prompt, 1); // trims the active index
  await waitUntil(windowsGone(["ip:192.0.2.250"]), 30_000);
  await sleep(1000); // Valkey frees expired values in a background thread (lazyfree)
  const baselineSnapshot = await snapshot(redis);
  const baseline = baselineSnapshot.net;

  // 3. 100,000 distinct clients, one request each.
  const firstMinute = minuteOf(Date.now());
  const t = performance.now();
  const clientIp = (i: number) => `ip:198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  await runClients(clientsDeps, opts.clients, clientIp, prompt);
  const clientsSeconds = (performance.now() - t) / 1000;
  const lastWrite = Date.now();
  const lastMinute = minuteOf(lastWrite);
  const peakSnapshot = await snapshot(redis);
  const peak = peakSnapshot.net;
  log(`memory: ${opts.clients.toLocaleString("en-US")} clients in ${clientsSeconds.toFixed(1)} s, ${baseline} → ${peak} bytes`);

  // 4. Their windows expire; one more request trims the active index.
  await waitUntil(windowsGone(Array.from({ length: opts.clients }, (_, i) => clientIp(i))), windowMs + 60_000);
  await runClients(deps, 1, () => "ip:192.0.2.251", prompt, 1);
  const afterWindowsSnapshot = await snapshot(redis);
  const afterWindows = afterWindowsSnapshot.net;
  const heldBy: Record<string, number> = {};
  for (let m = firstMinute; m <= lastMinute + 1; m++) {
    for (const key of [keys.top(0, m), keys.topBlocked(0, m)]) {
      const bytes = await redis.memory("USAGE", key, "SAMPLES", 0);
      if (bytes) heldBy[key.slice(prefix.length)] = Number(bytes);
    }
  }
  for (const key of [keys.events(0), keys.totals(0)]) {
    heldBy[key.slice(prefix.length)] = Number((await redis.memory("USAGE", key, "SAMPLES", 0)) ?? 0);
  }
  const streamLength = await redis.xlen(keys.events(0));

  const result: MemoryResult = {
    sampleClients: opts.sampleClients,
    bytesPerWindow,
    bytesPerCachedPrompt,
    activeCallersBytes,
    bytesPerCacheIndexEntry,
    clients: opts.clients,
    windowMs,
    clientsSeconds,
    baseline,
    peak,
    snapshots: { baseline: baselineSnapshot, peak: peakSnapshot, afterWindows: afterWindowsSnapshot, final: null },
    bytesPerClientAllIn: (peak - baseline) / opts.clients,
    afterWindows,
    afterWindowsHeldBy: heldBy,
    final: null,
    finalWaitSeconds: null,
    streamLength,
  };

  return {
    result,
    async finish() {
      // The per-minute top sets of the 100,000 live TOP_TTL_SECONDS after their last write.
      const topKeys: string[] = [];
      for (let m = firstMinute; m <= lastMinute; m++) topKeys.push(keys.top(0, m), keys.topBlocked(0, m));
      const waitStart = Date.now();
      const remaining = lastWrite + TOP_TTL_SECONDS * 1000 + 2000 - Date.now();
      if (remaining > 0) log(`memory: waiting ${(remaining / 1000).toFixed(0)} s more for the top-consumer sets to expire`);
      await waitUntil(async () => (await redis.exists(...topKeys)) === 0, Math.max(remaining, 0) + 60_000);
      await sleep(1000); // lazyfree, as above
      await runClients(deps, 1, () => "ip:192.0.2.252", prompt, 1);
      const finalSnapshot = await snapshot(redis);
      result.snapshots.final = finalSnapshot;
      result.final = finalSnapshot.net;
      result.finalWaitSeconds = (Date.now() - waitStart) / 1000;
      return result;
    },
  };
}
