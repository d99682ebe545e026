import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { simulateResponseSchema, simulateStreamLineSchema, statsSchema, type Stats } from "@/lib/schemas";
import { TOP_CAP } from "@/lib/valkey/keys";
import { generateRequest, jsonRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";

let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "10", RATE_LIMIT_WINDOW_MS: "60000", STREAM_MAXLEN: "25" });
});
afterAll(() => app.close());

async function stats(): Promise<Stats> {
  const res = await app.stats.GET();
  expect(res.status).toBe(200);
  return statsSchema.parse(await res.json());
}

describe("GET /api/stats", () => {
  it("starts empty but connected", async () => {
    const s = await stats();
    expect(s.connected).toBe(true);
    expect(s.totals.requests).toBe(0);
    expect(s.cache.hitRatio).toBe(0);
    expect(s.activity).toEqual([]);
    expect(s.timeseries).toHaveLength(60);
    expect(s.valkey?.version).toMatch(/^\d+\.\d+/);
    expect(s.valkey?.usedMemoryBytes).toBeGreaterThan(0);
  });

  it("counts exactly what was sent: requests, blocks, hits, misses, consumers, activity", async () => {
    // Client A: 12 requests of 2 prompts → 10 allowed (2 misses, 8 hits), 2 blocked.
    for (let i = 0; i < 12; i++) await app.generate.POST(generateRequest(`stats prompt ${i % 2}`, { ip: "192.0.2.10" }));
    // Client B: 3 requests, one new prompt and one already cached.
    await app.generate.POST(generateRequest("stats prompt 0", { ip: "192.0.2.11" }));
    await app.generate.POST(generateRequest("stats prompt 9", { ip: "192.0.2.11" }));
    await app.generate.POST(generateRequest("stats prompt 9", { ip: "192.0.2.11" }));

    const s = await stats();
    expect(s.totals).toMatchObject({ requests: 15, allowed: 13, blocked: 2, hits: 10, misses: 3, generations: 3 });
    expect(s.cache).toMatchObject({ hits: 10, misses: 3, total: 13, cachedKeys: 3 });
    expect(s.cache.hitRatio).toBeCloseTo(10 / 13, 10);
    expect(s.cache.tokensSaved).toBeGreaterThan(0);
    expect(s.rateLimit.blockedRequests).toBe(2);
    expect(s.rateLimit.requestsPerMinute).toBe(15);
    expect(s.rateLimit.blockedPerMinute).toBe(2);
    expect(s.rateLimit.totalKeys).toBe(2);
    expect(s.rateLimit.topConsumers[0]).toEqual({ identity: "ip:192.0.2.10", requests: 12, blocked: 2, tier: "anonymous" });
    expect(s.rateLimit.topConsumers[1]).toMatchObject({ identity: "ip:192.0.2.11", requests: 3, blocked: 0 });
    expect(s.keyDistribution).toMatchObject({ rateLimit: 2, cache: 3, stream: 1 });
    expect(s.keyDistribution.counters).toBeGreaterThanOrEqual(3);

    // Newest first; every outcome appears with its details.
    expect(s.activity).toHaveLength(15);
    expect(s.activity[0]).toMatchObject({ type: "hit", identity: "ip:192.0.2.11" });
    const types = new Set(s.activity.map((e) => e.type));
    expect(types).toEqual(new Set(["hit", "miss", "blocked"]));
    const blocked = s.activity.find((e) => e.type === "blocked")!;
    expect(blocked).toMatchObject({ limit: 10, remaining: 0, inWindow: 10 });
    const miss = s.activity.find((e) => e.type === "miss")!;
    expect(miss.tokens).toBeGreaterThan(0);
    for (let i = 1; i < s.activity.length; i++) expect(s.activity[i - 1]!.timestamp).toBeGreaterThanOrEqual(s.activity[i]!.timestamp);

    // Hit and miss latencies are measured by this process, so a hit's own time is known too.
    expect(s.latency.hit.count).toBeGreaterThanOrEqual(10);
    expect(s.latency.miss.count).toBeGreaterThanOrEqual(3);
    expect(s.latency.blocked.count).toBeGreaterThanOrEqual(2);
    expect(s.latency.hit.p50).not.toBeNull();

    const bucketTotal = s.timeseries.reduce((sum, b) => sum + b.requests, 0);
    expect(bucketTotal).toBe(15);
  });

  it("keeps the stream within its cap", async () => {
    // Enough decisions to fill the cap and more than one stream node past it, so trimming must have run.
    for (let i = 0; i < 200; i++) await app.generate.POST(generateRequest(`cap ${i % 3}`, { ip: `192.0.2.${100 + (i % 20)}` }));
    const key = `${app.prefix}{0}:events`;
    const length = await app.inspect.xlen(key);
    const info = (await app.inspect.call("XINFO", "STREAM", key)) as unknown[];
    expect(Number(info[info.indexOf("entries-added") + 1])).toBeGreaterThanOrEqual(200);
    // MAXLEN ~ trims whole nodes: at least the cap, at most one node (stream-node-max-entries, 100) more.
    expect(length).toBeGreaterThanOrEqual(25);
    expect(length).toBeLessThanOrEqual(25 + 100);
    expect((await stats()).stream).toEqual({ length, cap: 25 });
  });

  it("leaves no key without a TTL except the bounded ones", async () => {
    const keys = await keysUnder(app.inspect, app.prefix);
    expect(keys.length).toBeGreaterThan(5);
    const bounded = new Set(["stats", "events", "idx:cache"].map((k) => `${app.prefix}{0}:${k}`));
    for (const key of keys) {
      const ttl = await app.inspect.pttl(key);
      if (bounded.has(key)) continue;
      expect(ttl, `${key} has no expiry`).toBeGreaterThan(0);
    }
    // The cache index is trimmed as written: no member is already expired.
    const now = Date.now();
    expect(await app.inspect.zcount(`${app.prefix}{0}:idx:cache`, "-inf", now - 5000)).toBe(0);
    // Active callers are counted in per-bucket HyperLogLogs: fixed size, expiring.
    const callers = keys.filter((k) => k.includes(":callers:"));
    expect(callers.length).toBeGreaterThan(0);
    for (const key of callers) expect(await app.inspect.type(key)).toBe("string");
  });
});

describe("POST /api/simulate", () => {
  // Each test gets its own key prefix: simulated clients keep their windows between runs.
  beforeEach(async () => {
    await app.close();
    app = await loadApp({ RATE_LIMIT_MAX: "10", RATE_LIMIT_WINDOW_MS: "60000" });
  });

  it("runs the TokenFlow default: 50 from one client, of which 10 pass", async () => {
    const res = await app.simulate.POST(jsonRequest("/api/simulate", {}));
    expect(res.status).toBe(200);
    const body = simulateResponseSchema.parse(await res.json());
    expect(body.summary).toMatchObject({ total: 50, successful: 10, blocked: 40, failed: 0 });
    expect(body.results).toHaveLength(50);
    expect(body.results.map((r) => r.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(body.results.map((r) => r.identity))).toEqual(new Set(["sim:anonymous:1"]));
  });

  it("answers repeated prompts from the cache: one request at a time, 5 prompts, 10 admitted → 5 misses, 5 hits", async () => {
    const res = await app.simulate.POST(jsonRequest("/api/simulate", { count: 50, concurrency: 1, prompts: 5 }));
    const body = simulateResponseSchema.parse(await res.json());
    expect(body.summary).toMatchObject({ total: 50, successful: 10, cached: 5, blocked: 40, failed: 0 });
    expect(body.results.slice(0, 10).map((r) => r.outcome)).toEqual([
      ...Array(5).fill("allowed"),
      ...Array(5).fill("cached"),
    ]);
  });

  it("spreads over many clients and tiers when asked", async () => {
    const res = await app.simulate.POST(jsonRequest("/api/simulate", { count: 40, clients: 4, tier: "mixed", concurrency: 8 }));
    const body = simulateResponseSchema.parse(await res.json());
    expect(new Set(body.results.map((r) => r.tier))).toEqual(new Set(["anonymous", "free", "pro", "enterprise"]));
    expect(body.summary.total).toBe(40);
    expect(body.summary.blocked).toBe(0);
  });

  it("streams progress as NDJSON, one line per request, then the summary", async () => {
    const res = await app.simulate.POST(
      jsonRequest("/api/simulate", { count: 20, clients: 20 }, { headers: { accept: "application/x-ndjson" } }),
    );
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => simulateStreamLineSchema.parse(JSON.parse(l)));
    expect(lines[0]).toEqual({ type: "start", total: 20 });
    const progress = lines.filter((l) => l.type === "progress");
    expect(progress.map((l) => l.done)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const last = lines.at(-1);
    expect(last?.type).toBe("done");
    if (last?.type === "done") expect(last.summary.total).toBe(20);
  });

  it("refuses counts beyond its bounds with a 400 naming the field", async () => {
    const res = await app.simulate.POST(jsonRequest("/api/simulate", { count: 5000 }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; error: string };
    expect(body.code).toBe("invalid_body");
    expect(body.error).toContain("count");
  });
});

describe("top consumers under many callers", () => {
  it("keeps each per-minute set at TOP_CAP members and still ranks a late heavy hitter first", async () => {
    const own = await loadApp({ RATE_LIMIT_MAX: "1000" });
    try {
      let clock = Math.floor(Date.now() / 60_000) * 60_000 + 1000; // early in a minute, fixed
      own.deps.now = () => clock;
      const crowd = TOP_CAP + 500;
      for (let start = 0; start < crowd; start += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => own.generate.POST(generateRequest("crowd", { ip: `198.18.${(start + j) >> 8}.${(start + j) & 255}` }))),
        );
      }
      clock += 1000;
      for (let i = 0; i < 30; i++) await own.generate.POST(generateRequest("heavy", { ip: "203.0.113.200" }));
      const minute = Math.floor(clock / 60_000);
      expect(await own.inspect.zcard(`${own.prefix}{0}:top:${minute}`)).toBe(TOP_CAP);
      const s = statsSchema.parse(await (await own.stats.GET()).json());
      expect(s.rateLimit.topConsumers[0]).toMatchObject({ identity: "ip:203.0.113.200" });
      // Space-Saving may overestimate by the evicted minimum (here 1), never underestimate.
      expect(s.rateLimit.topConsumers[0]!.requests).toBeGreaterThanOrEqual(30);
      expect(s.rateLimit.topConsumers[0]!.requests).toBeLessThanOrEqual(31);
    } finally {
      await own.close();
    }
  });
});
