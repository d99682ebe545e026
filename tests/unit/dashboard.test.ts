import { describe, expect, it } from "vitest";
import { newEventIds, toConsumerBars, toDoorSplit, toHitRatioSeries, toKeySlices, toRunSeries, timeTicks, toTrafficSeries, trimLeadingEmpty } from "@/lib/dashboard/chart-data";
import { formatAgo, formatAxisIdentity, formatBytes, formatCost, formatCount, formatIdentity, formatIn, formatMs, formatPercent, ratio } from "@/lib/dashboard/format";
import { percentile } from "@/lib/gateway/latency";
import type { ActivityEvent, TimeBucket } from "@/lib/schemas";

const bucket = (t: number, b: Partial<TimeBucket>): TimeBucket => ({
  t,
  requests: 0,
  allowed: 0,
  blocked: 0,
  hits: 0,
  misses: 0,
  tokens: 0,
  doors: { generate: 0, openai: 0 },
  ...b,
});

describe("chart data", () => {
  it("stacks traffic so that model + cache + blocked = requests = generate door + OpenAI door", () => {
    const series = toTrafficSeries([bucket(0, { requests: 10, allowed: 7, blocked: 3, hits: 5, misses: 2, doors: { generate: 6, openai: 4 } })]);
    expect(series).toEqual([{ t: 0, generated: 2, cached: 5, blocked: 3, generate: 6, openai: 4 }]);
    const p = series[0]!;
    expect(p.generated + p.cached + p.blocked).toBe(10);
    expect(p.generate + p.openai).toBe(10);
  });

  it("splits requests by door, with no share when there are none", () => {
    expect(toDoorSplit({ generate: 3, openai: 1 })).toEqual([
      { door: "generate", label: "generate", requests: 3, share: 0.75 },
      { door: "openai", label: "OpenAI API", requests: 1, share: 0.25 },
    ]);
    expect(toDoorSplit({ generate: 0, openai: 0 }).map((d) => d.share)).toEqual([null, null]);
  });

  it("computes the hit ratio per bucket and running, with gaps where nothing was looked up", () => {
    const series = toHitRatioSeries([bucket(0, { hits: 1, misses: 1 }), bucket(10, {}), bucket(20, { hits: 3, misses: 0 })]);
    expect(series.map((p) => p.ratio)).toEqual([50, null, 100]);
    expect(series.map((p) => p.cumulative)).toEqual([50, 50, 80]);
  });

  it("trims leading empty buckets but keeps a minimum span", () => {
    const points = Array.from({ length: 60 }, (_, i) => ({ t: i, v: i >= 55 ? 1 : 0 }));
    expect(trimLeadingEmpty(points, (p) => p.v === 0, 12)).toHaveLength(12);
    expect(trimLeadingEmpty(points, (p) => p.v === 0, 3)[0]!.t).toBe(55);
    expect(trimLeadingEmpty(points.map((p) => ({ ...p, v: 0 })), (p) => p.v === 0, 12)).toHaveLength(12);
  });

  it("splits consumers into admitted and blocked", () => {
    expect(toConsumerBars([{ identity: "ip:1.2.3.4", tier: "anonymous", requests: 12, blocked: 2 }])).toEqual([
      { name: "ip:1.2.3.4", identity: "ip:1.2.3.4", tier: "anonymous", admitted: 10, blocked: 2 },
    ]);
  });

  it("labels key kinds", () => {
    expect(toKeySlices({ rateLimit: 2, cache: 3, stream: 1, counters: 4 }).map((s) => [s.label, s.value])).toEqual([
      ["Callers, last minute", 2],
      ["Cached prompts", 3],
      ["Event stream", 1],
      ["Counters & buckets", 4],
    ]);
  });

  it("finds events that arrived since the last poll", () => {
    const e = (id: string) => ({ id }) as ActivityEvent;
    expect(newEventIds([e("3"), e("2"), e("1")], new Set(["1", "2"]))).toEqual(["3"]);
  });

  it("accumulates a simulator run and down-samples it", () => {
    const run = toRunSeries(["allowed", "cached", "blocked", "blocked", "failed"]);
    expect(run.at(-1)).toEqual({ done: 5, successful: 2, cached: 1, blocked: 2, failed: 1 });
    const long = toRunSeries(Array(1000).fill("blocked"), 100);
    expect(long).toHaveLength(100);
    expect(long.at(-1)).toMatchObject({ done: 1000, blocked: 1000 });
  });
});

describe("formatting", () => {
  it("formats counts, percents and ratios", () => {
    expect(formatCount(1234)).toBe("1,234");
    expect(formatCount(1_250_000)).toBe("1.3M");
    expect(formatPercent(0.4567)).toBe("45.7%");
    expect(formatPercent(null)).toBe("—");
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(1, 4)).toBe(0.25);
  });

  it("formats durations from sub-millisecond to hours", () => {
    expect(formatMs(0)).toBe("0 ms");
    expect(formatMs(0.456)).toBe("0.46 ms");
    expect(formatMs(4.56)).toBe("4.6 ms");
    expect(formatMs(456)).toBe("456 ms");
    expect(formatMs(4560)).toBe("4.56 s");
    expect(formatMs(104_000)).toBe("1 min 44 s");
    expect(formatMs(2 * 3_600_000 + 5 * 60_000)).toBe("2 h 5 min");
    expect(formatMs(null)).toBe("—");
  });

  it("formats bytes and money so small numbers still say something", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1_205_416)).toBe("1.15 MB");
    expect(formatCost(0)).toBe("$0.00");
    expect(formatCost(0.00093)).toBe("$0.0009");
    expect(formatCost(0.127)).toBe("$0.127");
    expect(formatCost(12.5)).toBe("$12.50");
  });

  it("formats relative times both ways", () => {
    expect(formatAgo(1000, 1500)).toBe("just now");
    expect(formatAgo(0, 42_000)).toBe("42 s ago");
    expect(formatAgo(0, 180_000)).toBe("3 min ago");
    expect(formatIn(10_000, 0)).toBe("in 10 s");
    expect(formatIn(0, 10)).toBe("now");
    expect(formatIn(75_000, 0)).toBe("in 1 min 15 s");
  });

  it("shows identities as a person reads them, never a raw key", () => {
    expect(formatIdentity("ip:203.0.113.7")).toBe("203.0.113.7");
    expect(formatIdentity("key:3c9e0123abcd")).toBe("key 3c9e0123…");
    expect(formatIdentity("sim:anonymous:4")).toBe("sim-4");
    expect(formatIdentity("sim:pro:2")).toBe("sim-2 · pro");
    expect(formatAxisIdentity("sim:enterprise:4", "enterprise")).toBe("sim-4 ent");
    expect(formatAxisIdentity("sim:anonymous:1", "anonymous")).toBe("sim-1");
    expect(formatAxisIdentity("key:3c9e0123abcd", "pro")).toBe("key 3c9e01 pro");
    expect(formatAxisIdentity("ip:10.0.0.1", "anonymous")).toBe("10.0.0.1");
  });
});

describe("latency percentiles", () => {
  it("uses the nearest rank", () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95)).toBe(95);
  });
});

describe("timeTicks", () => {
  const at = (iso: string) => Date.parse(iso);
  const span = (fromIso: string, buckets: number) => Array.from({ length: buckets }, (_, i) => ({ t: at(fromIso) + i * 10_000 }));

  it("labels the whole minutes once each, so no two ticks read the same", () => {
    const { ticks, label } = timeTicks(span("2026-12-02T07:27:40Z", 18));
    expect(ticks).toEqual([at("2026-12-02T07:28:00Z"), at("2026-12-02T07:29:00Z"), at("2026-12-02T07:30:00Z")]);
    const labels = ticks.map(label);
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels[0]).toMatch(/^\d\d:\d\d$/);
  });

  it("falls back to every 30 s, with seconds, when fewer than two minutes are in view", () => {
    const { ticks, label } = timeTicks(span("2026-12-02T07:28:10Z", 8)); // 07:28:10 .. 07:29:20
    expect(ticks).toEqual([at("2026-12-02T07:28:30Z"), at("2026-12-02T07:29:00Z")]);
    expect(label(ticks[0]!)).toMatch(/^\d\d:\d\d:30$/);
  });
});

