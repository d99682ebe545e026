import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { valkeyViewsSchema, type ValkeyViews } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";

/**
 * GET /api/valkey on the real server: the TTL histograms, hot prompts, the
 * memory series, the interval figures and the consumer groups are what was
 * written, read at a fixed cost. The suite's server is shared by files
 * running side by side, so server-wide counters (INFO commandstats) are only
 * asserted to move by at least this file's own load; per-prefix figures are
 * asserted exactly.
 */

let app: LoadedApp;
const CACHE_TTL = 600;
// A fixed clock on an interval boundary: samples, index scores and windows all read it.
const T0 = Math.floor(Date.now() / 10_000) * 10_000 + 60_000;

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "1000", RATE_LIMIT_WINDOW_MS: "60000", CACHE_TTL_SECONDS: String(CACHE_TTL), STREAM_MAXLEN: "5000" });
});
afterAll(() => {
  app.deps.now = Date.now;
  return app.close();
});

async function views(): Promise<ValkeyViews> {
  const res = await app.valkey.GET();
  expect(res.status).toBe(200);
  return valkeyViewsSchema.parse(await res.json());
}

async function send(prompt: string, ip: string, at: number): Promise<string | null> {
  app.deps.now = () => at;
  const res = await app.generate.POST(generateRequest(prompt, { ip }));
  expect(res.status).toBe(200);
  return res.headers.get("x-cache");
}

describe("GET /api/valkey", () => {
  it("starts connected with empty views", async () => {
    app.deps.now = () => T0 - 600_000;
    const v = await views();
    expect(v.connected).toBe(true);
    expect(v.ttl.cache.total).toBe(0);
    expect(v.ttl.limits.total).toBe(0);
    expect(v.cache.hotPrompts).toEqual([]);
    expect(v.stream).toMatchObject({ length: 0, entriesAdded: 0, groups: [] });
    expect(v.memory.usedBytes).toBeGreaterThan(0);
    expect(v.memory.policy).not.toBe("");
    expect(v.cost.roundTrips).toBe(2);
  });

  it("draws the TTL histograms from the index sets: each entry in the bar of its remaining life", async () => {
    // Cache bars are CACHE_TTL / 6 = 100 s wide; limit state lives the window + 1 s.
    await send("ttl prompt a", "198.51.100.1", T0 - 550_000); // cached 550 s ago: 50 s left → bar 0
    await send("ttl prompt b", "198.51.100.2", T0 - 150_000); // 450 s left → bar 4
    await send("ttl prompt c", "198.51.100.3", T0 - 150_000); // 450 s left → bar 4
    await send("ttl prompt d", "198.51.100.4", T0 - 20_000); // 580 s left → bar 5; its limit: 41 s left
    await send("ttl prompt e", "198.51.100.5", T0 - 40_000); // 560 s left → bar 5; its limit: 21 s left
    await send("ttl prompt f", "198.51.100.6", T0); // 600 s left → bar 5; its limit: 61 s left
    app.deps.now = () => T0;
    const v = await views();
    expect(v.ttl.cache.buckets.map((b) => b.count)).toEqual([1, 0, 0, 0, 2, 3]);
    expect(v.ttl.cache.total).toBe(6);
    expect(v.ttl.cache.buckets[0]).toMatchObject({ fromSeconds: 0, toSeconds: 100 });
    expect(v.ttl.cache.buckets.at(-1)).toMatchObject({ fromSeconds: 500, toSeconds: null });
    // Limit bars: <15 s, 15–30, 30–45, 45–60, 1–5 min, 5–60 min, ≥ 1 h. The callers of
    // T0 - 550 s and T0 - 150 s have no live limit state any more (their windows ended).
    expect(v.ttl.limits.buckets.map((b) => b.count)).toEqual([0, 1, 1, 0, 1, 0, 0]);
    expect(v.ttl.limits.total).toBe(3);
    const limits = v.memory.byKind.find((k) => k.kind === "limits")!;
    expect(limits.keys).toBe(3);
    expect(limits.sampled).toBeGreaterThan(0);
    expect(limits.bytesPerKey).toBeGreaterThan(0);
    const cache = v.memory.byKind.find((k) => k.kind === "cache")!;
    expect(cache).toMatchObject({ keys: 6, sampled: 3 });
    // The mean of the sampled sizes times the count (bytesPerKey is that mean, rounded).
    expect(Math.abs(cache.estimatedBytes! - cache.bytesPerKey! * 6)).toBeLessThanOrEqual(3);
  });

  it("lists the hot prompts, the most hit first, with their age and remaining TTL", async () => {
    const at = T0 + 1_000;
    expect(await send("Which prompt is hot?", "198.51.100.20", at)).toBe("MISS");
    for (let i = 0; i < 5; i++) expect(await send("Which prompt is hot?", "198.51.100.20", at)).toBe("HIT");
    expect(await send("A lukewarm prompt", "198.51.100.21", at)).toBe("MISS");
    for (let i = 0; i < 2; i++) expect(await send("A lukewarm prompt", "198.51.100.21", at)).toBe("HIT");
    expect(await send("A cold prompt, asked once", "198.51.100.22", at)).toBe("MISS");
    app.deps.now = () => at + 30_000;
    const v = await views();
    expect(v.cache.hotPrompts.map((p) => [p.preview, p.hits])).toEqual([
      ["Which prompt is hot?", 5],
      ["A lukewarm prompt", 2],
    ]);
    expect(v.cache.hotPrompts[0]).toMatchObject({ ttlSeconds: CACHE_TTL - 30, ageSeconds: 30 });
    expect(v.cache.hotPrompts[0]!.hash).toMatch(/^[0-9a-f]{12}$/);
  });

  it("writes one memory sample per interval however many pollers ask at once", async () => {
    const series = app.deps.keys.memorySeries();
    const before = await app.inspect.xlen(series);
    const second = (await import("@/lib/gateway/deps")).createGatewayDeps(app.deps.config, app.deps.valkey);
    const { readValkeyViews } = await import("@/lib/stats/valkey-views");
    for (const t of [T0 + 100_000, T0 + 105_000, T0 + 110_000]) {
      app.deps.now = () => t;
      second.now = () => t;
      await Promise.all([...Array.from({ length: 4 }, () => app.valkey.GET()), readValkeyViews(second), readValkeyViews(second)]);
    }
    // T0 + 100 s and + 105 s are one interval, + 110 s the next.
    expect((await app.inspect.xlen(series)) - before).toBe(2);
    const ids = (await app.inspect.xrange(series, "-", "+")).map(([id]) => id);
    expect(ids.slice(-2)).toEqual([`${T0 + 100_000}-1`, `${T0 + 110_000}-1`]);
    const v = await views();
    expect(v.memory.series.at(-1)).toMatchObject({ t: T0 + 110_000 });
    expect(v.memory.series.at(-1)!.usedBytes).toBeGreaterThan(0);
  });

  it("moves the command figures when load is applied: decisions per second and µs per decision over the interval", async () => {
    const t = T0 + 200_000;
    app.deps.now = () => t;
    const quiet = await views(); // writes the sample the next reading is measured against
    const evalshaBefore = quiet.commands.rows.find((r) => r.command === "evalsha")?.calls ?? 0;
    for (let i = 0; i < 40; i++) await send(`load prompt ${i % 4}`, `198.51.100.${40 + (i % 8)}`, t + 1_000);
    app.deps.now = () => t + 10_000;
    const busy = await views();
    expect(busy.commands.intervalSeconds).toBe(10);
    // Decisions are counted per prefix: exactly this test's 40 in 10 s.
    expect(busy.commands.decisionsPerSec).toBe(4);
    expect(busy.commands.usecPerDecision).toBeGreaterThan(0);
    expect(busy.commands.usecPerScriptCall).toBeGreaterThan(0);
    const evalsha = busy.commands.rows.find((r) => r.command === "evalsha");
    expect(evalsha).toBeDefined();
    // 40 decide calls and 4 stores at least (the server is shared: others may add more).
    expect(evalsha!.calls - evalshaBefore).toBeGreaterThanOrEqual(44);
    expect(evalsha!.callsPerSec).toBeGreaterThanOrEqual(4.4);
    expect(evalsha!.usecPerCall).toBeGreaterThan(0);
    expect(busy.stream.eventsPerSec).toBe(4);
  });

  it("shows a consumer group's lag and pending entries while its consumer is stopped", async () => {
    const stream = app.deps.keys.events(0);
    // As the exporter does: a group from the stream's start, nothing read yet.
    await app.inspect.xgroup("CREATE", stream, "flowgate-export", "0", "MKSTREAM");
    const t = T0 + 300_000;
    for (let i = 0; i < 7; i++) await send(`lag prompt ${i}`, "198.51.100.60", t);
    const length = await app.inspect.xlen(stream);
    expect(length).toBeGreaterThanOrEqual(7);
    app.deps.now = () => t;
    let v = await views();
    expect(v.stream.groups).toEqual([{ name: "flowgate-export", consumers: 0, pending: 0, lag: length, lastDeliveredId: "0-0" }]);
    // The consumer reads three and stops before acknowledging them.
    await app.inspect.xreadgroup("GROUP", "flowgate-export", "exporter-1", "COUNT", 3, "STREAMS", stream, ">");
    v = await views();
    expect(v.stream.groups[0]).toMatchObject({ consumers: 1, pending: 3, lag: length - 3 });
    expect(v.stream.length).toBe(length);
    expect(v.stream.oldestAt).not.toBeNull();
  });

  it("names the scripts by the SHA-1 Valkey knows them by (what SLOWLOG shows)", async () => {
    const { scriptNamesBySha } = await import("@/lib/valkey/scripts");
    const byName = new Map([...scriptNamesBySha()].map(([sha, name]) => [name, sha]));
    // decide and store ran in the tests above: the server holds exactly the scripts the table hashes.
    const shas = ["decide", "store"].map((name) => byName.get(name)!);
    expect(await app.inspect.script("EXISTS", ...shas)).toEqual([1, 1]);
    expect(byName.size).toBe(12);
  });

  it("costs the same number of commands with many more keys", async () => {
    app.deps.now = () => T0 + 400_000;
    const small = await views();
    const pipeline = app.inspect.pipeline();
    const index = app.deps.keys.cacheIndex(0);
    for (let i = 0; i < 5_000; i++) pipeline.zadd(index, T0 + 900_000 + i, `${i}`.padStart(64, "0"));
    await pipeline.exec();
    // The next interval, as the first reading was: both write their sample.
    app.deps.now = () => T0 + 410_000;
    const large = await views();
    expect(large.ttl.cache.total).toBeGreaterThan(5_000);
    expect(large.cost.commands).toBe(small.cost.commands);
  });
});
