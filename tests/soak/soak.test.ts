import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statsSchema } from "@/lib/schemas";
import { TOP_CAP } from "@/lib/valkey/keys";
import { generateRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * 100,000 requests from 10,000 identities with repeated prompts, on a private
 * server. Nothing is lost (the counters add up to what was sent), nothing
 * grows without bound (every key expires or is capped), and once the windows
 * expire, memory is back within 10 % of where it started: the memory is flat
 * under repeated load. The capped aggregates (per-minute top sets, time
 * buckets, caller HyperLogLogs) are measured and bounded separately.
 */

const REQUESTS = 100_000;
const IDENTITIES = 10_000;
const WINDOW_MS = 2000;
const CONCURRENCY = 64;

let valkey: TestValkey;
let app: LoadedApp;

beforeAll(async () => {
  valkey = await startValkey();
  process.env.VALKEY_URL = valkey.url;
  app = await loadApp({ RATE_LIMIT_MAX: "10", RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), STREAM_MAXLEN: "1000" });
});
afterAll(async () => {
  await app.close();
  await valkey.stop();
});

const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

async function usedMemory(): Promise<number> {
  // Big values are freed by a background thread (lazyfree): wait for it.
  for (let i = 0; i < 100; i++) {
    const pending = Number(/lazyfree_pending_objects:(\d+)/.exec(await app.inspect.info("memory"))?.[1] ?? 0);
    if (pending === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // The slow log keeps up to 128 commands with their arguments (hundreds of KB
  // for long EVALSHA calls on a busy machine): a bounded diagnostic buffer, not data.
  await app.inspect.call("SLOWLOG", "RESET");
  await app.inspect.call("MEMORY", "PURGE").catch(() => undefined);
  return Number(/used_memory:(\d+)/.exec(await app.inspect.info("memory"))?.[1]);
}

async function send(count: number, identities: number, offset: number, statuses: Map<number, number>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await app.generate.POST(generateRequest(`soak prompt ${i % 40}`, { ip: ipOf(offset + (i % identities)) }));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function waitForWindowsToExpire(): Promise<void> {
  await new Promise((r) => setTimeout(r, WINDOW_MS + 1500));
  // One request trims the index sets (they are trimmed as they are written).
  await app.generate.POST(generateRequest("soak trim", { ip: "192.0.2.250" }));
}

/** The per-minute top sets, 10 s buckets and caller HyperLogLogs: capped, and gone within 2 minutes (10 minutes for buckets). */
const expiringAggregate = /:(top|top-blocked|ts|callers):/;

async function aggregateBytes(): Promise<number> {
  let bytes = 0;
  for (const key of await keysUnder(app.inspect, app.prefix)) {
    if (expiringAggregate.test(key)) bytes += Number(await app.inspect.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
  }
  return bytes;
}

/** Memory once those aggregates have expired too: their expiry is brought forward, nothing else. */
async function memoryWithoutExpiringAggregates(): Promise<number> {
  for (const key of await keysUnder(app.inspect, app.prefix)) {
    if (expiringAggregate.test(key)) await app.inspect.pexpire(key, 1);
  }
  await new Promise((r) => setTimeout(r, 50));
  await app.inspect.call("SCAN", "0", "COUNT", "10000"); // lets lazy expiry notice them
  return usedMemory();
}

describe("soak: 2 × 100,000 requests from 10,000 identities", () => {
  it("loses nothing, bounds everything, and gives the memory back", { timeout: 300_000 }, async () => {
    const statuses = new Map<number, number>();
    // Round 1 of the same traffic: the stream reaches its cap, the prompt pool is cached, and
    // the server's own tables and buffers grow to this load once. Valkey keeps some of those
    // (100-250 KB here) after every key has expired, whoever wrote them, and does not grow them
    // again for the same load: so "flat" is measured from after round 1 to after round 2.
    await send(REQUESTS, IDENTITIES, 0, statuses);
    // The dashboard polls /api/stats all the time: that is part of the steady state too.
    statsSchema.parse(await (await app.stats.GET()).json());
    await waitForWindowsToExpire();
    const baseline = await memoryWithoutExpiringAggregates();

    await send(REQUESTS, IDENTITIES, 0, statuses);
    const sent = 2 * REQUESTS + 1;

    // Nothing lost: every request is counted once, in exactly one outcome.
    const stats = statsSchema.parse(await (await app.stats.GET()).json());
    expect([...statuses.keys()].sort()).toEqual([200, 429].filter((s) => statuses.has(s)));
    expect(stats.totals.requests).toBe(sent);
    expect(stats.totals.allowed + stats.totals.blocked).toBe(sent);
    expect(stats.totals.hits + stats.totals.misses).toBe(stats.totals.allowed);
    expect(stats.totals.blocked).toBe(statuses.get(429) ?? 0);
    expect(stats.totals.allowed).toBe((statuses.get(200) ?? 0) + 1);
    // MAXLEN ~ trims whole nodes: at least the cap, at most one node (stream-node-max-entries, 100) more.
    expect(stats.stream.length).toBeGreaterThanOrEqual(1000);
    expect(stats.stream.length).toBeLessThanOrEqual(1000 + 100);

    // Bounded: every key expires, or is one of the capped ones. (Read on a connection of its
    // own: scanning 10,000 keys grows that client's buffers, which are not the app's memory.)
    const capped = new Set(["stats", "events", "idx:cache"].map((k) => `${app.prefix}{0}:${k}`));
    const reader = new Redis(valkey.url);
    try {
      for (const key of await keysUnder(reader, app.prefix)) {
        if (capped.has(key)) continue;
        // PTTL -1 is a key without a TTL. A key may expire while the scan runs (the windows here
        // are short): then it reads 0 ms left, or -2 once gone; both are keys that expire.
        expect(await reader.pttl(key), `${key} never expires`).not.toBe(-1);
        if (/:top(-blocked)?:/.test(key)) expect(await reader.zcard(key)).toBeLessThanOrEqual(TOP_CAP);
      }
    } finally {
      reader.disconnect();
    }

    // Memory: once the windows expire, only the capped aggregates remain beyond the start.
    await waitForWindowsToExpire();
    expect((await keysUnder(app.inspect, app.prefix)).filter((k) => k.includes(":rl:"))).toEqual([`${app.prefix}{0}:rl:ip:192.0.2.250`]);
    const aggregates = await aggregateBytes();
    const after = await memoryWithoutExpiringAggregates();
    console.info(
      `[soak] ${sent} requests: ${statuses.get(200) ?? 0} × 200, ${statuses.get(429) ?? 0} × 429; ` +
        `used_memory ${baseline} → ${after} B once windows expire; capped top sets and buckets ${aggregates} B until they expire`,
    );
    expect(after).toBeLessThanOrEqual(baseline * 1.1);
    // Until they expire, the aggregates stay small: top sets hold at most TOP_CAP members each.
    expect(aggregates).toBeLessThan(1_000_000);
  });
});
