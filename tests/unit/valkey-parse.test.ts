import { describe, expect, it } from "vitest";
import {
  cacheTtlEdges,
  commandCounters,
  commandRows,
  consumerGroups,
  latencyPercentiles,
  slowlogEntries,
  streamInfo,
  ttlBuckets,
  withoutSlowCalls,
  zcountBounds,
} from "@/lib/stats/valkey-parse";
import { parseInfo } from "@/lib/stats/snapshot";

const INFO = parseInfo(
  [
    "# Commandstats",
    "cmdstat_evalsha:calls=100,usec=4000,usec_per_call=40.00,rejected_calls=0,failed_calls=0",
    "cmdstat_zadd:calls=300,usec=600,usec_per_call=2.00,rejected_calls=0,failed_calls=0",
    "cmdstat_client|list:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0",
    "# Latencystats",
    "latency_percentiles_usec_evalsha:p50=36.095,p99=90.111,p99.9=120.319",
    "latency_percentiles_usec_zadd:p50=1.003,p99=4.015,p99.9=9.023",
  ].join("\r\n"),
);

describe("INFO commandstats and latencystats", () => {
  it("reads each command's calls and µs, adding servers up", () => {
    expect(commandCounters([INFO])).toEqual({
      evalsha: { calls: 100, usec: 4000 },
      zadd: { calls: 300, usec: 600 },
      "client|list": { calls: 1, usec: 10 },
    });
    expect(commandCounters([INFO, INFO]).evalsha).toEqual({ calls: 200, usec: 8000 });
  });

  it("reads the percentiles, keeping the highest over servers", () => {
    const other = { ...INFO, latency_percentiles_usec_evalsha: "p50=30,p99=100,p99.9=110" };
    expect(latencyPercentiles([INFO, other]).evalsha).toEqual({ p50: 36.095, p99: 100, p999: 120.319 });
  });

  it("gives per-interval figures against an earlier reading, the interval's costliest first", () => {
    const now = commandCounters([INFO]);
    const base = { evalsha: { calls: 60, usec: 2000 }, zadd: { calls: 100, usec: 200 } };
    const rows = commandRows(now, base, 10_000, latencyPercentiles([INFO]));
    expect(rows[0]).toEqual({
      command: "evalsha",
      calls: 100,
      callsPerSec: 4,
      usecPerCall: 50,
      usecPerCallAllTime: 40,
      p50: 36.095,
      p99: 90.111,
      p999: 120.319,
    });
    expect(rows[1]).toMatchObject({ command: "zadd", callsPerSec: 20, usecPerCall: 2 });
  });

  it("has no interval figures without an earlier reading, or after the counters were reset", () => {
    const now = commandCounters([INFO]);
    expect(commandRows(now, null, null, {})[0]).toMatchObject({ command: "zadd", callsPerSec: null, usecPerCall: null });
    const reset = commandRows(now, { evalsha: { calls: 1000, usec: 1 } }, 10_000, {}).find((r) => r.command === "evalsha");
    expect(reset).toMatchObject({ callsPerSec: null, usecPerCall: null, usecPerCallAllTime: 40 });
  });
});

describe("SLOWLOG, XINFO", () => {
  it("leaves the interval's slow script calls out of its mean", () => {
    const slowlog = [
      { id: 3, at: 1_700_000_010_000, durationUs: 66_000, command: "evalsha", script: "decide" },
      { id: 2, at: 1_700_000_009_000, durationUs: 12_000, command: "zadd", script: null },
      { id: 1, at: 1_699_999_000_000, durationUs: 50_000, command: "evalsha", script: "store" },
    ];
    // 200 calls, 66 ms of them in one call the slow log caught: 199 calls, 20 µs each.
    expect(withoutSlowCalls({ calls: 200, usec: 66_000 + 199 * 20 }, slowlog, 1_700_000_005_000)).toEqual({
      calls: 199,
      usec: 199 * 20,
      excluded: 1,
    });
    // An entry in the interval's first second counts (SLOWLOG's times are whole seconds).
    expect(withoutSlowCalls({ calls: 5, usec: 70_000 }, slowlog, 1_700_000_010_500).excluded).toBe(1);
  });

  it("names the script an EVALSHA ran and shows no arguments", () => {
    const names = new Map([["abc123", "decide"]]);
    const reply = [
      [7, 1_700_000_000, 15_000, ["EVALSHA", "abc123", "13", "flowgate:{0}:rl:ip:203.0.113.7"], "127.0.0.1:5000", ""],
      [6, 1_700_000_100, 12_000, ["ZADD", "k", "1", "m"], "127.0.0.1:5000", ""],
    ];
    expect(slowlogEntries([reply], names, 10)).toEqual([
      { id: 6, at: 1_700_000_100_000, durationUs: 12_000, command: "zadd", script: null },
      { id: 7, at: 1_700_000_000_000, durationUs: 15_000, command: "evalsha", script: "decide" },
    ]);
  });

  it("reads XINFO STREAM and adds XINFO GROUPS up over shards", () => {
    expect(
      streamInfo(["length", 3, "entries-added", 10, "first-entry", ["1700000000123-0", ["type", "hit"]], "last-entry", null]),
    ).toEqual({ length: 3, entriesAdded: 10, firstAt: 1_700_000_000_123 });
    expect(streamInfo(["length", 0, "first-entry", null])).toEqual({ length: 0, entriesAdded: 0, firstAt: null });
    const group = (pending: number, lag: number | null, last: string) => [
      "name", "flowgate-export", "consumers", 1, "pending", pending, "last-delivered-id", last, "entries-read", 5, "lag", lag,
    ];
    expect(consumerGroups([[group(2, 3, "5-0")], [group(1, 4, "9-0")]])).toEqual([
      { name: "flowgate-export", consumers: 1, pending: 3, lag: 7, lastDeliveredId: "9-0" },
    ]);
    expect(consumerGroups([[group(2, 3, "5-0")], [group(1, null, "9-0")]])[0]!.lag).toBeNull();
  });
});

describe("TTL histograms", () => {
  it("splits the cache TTL into six bars, the last open", () => {
    const bars = ttlBuckets(cacheTtlEdges(3600));
    expect(bars.map((b) => b.label)).toEqual(["< 10 min", "10–20 min", "20–30 min", "30–40 min", "40–50 min", "≥ 50 min"]);
    expect(bars.at(-1)).toEqual({ label: "≥ 50 min", fromSeconds: 3000, toSeconds: null });
  });

  it("counts [from, to) of remaining life, never what has expired", () => {
    const now = 1_000_000;
    expect(zcountBounds(now, { label: "", fromSeconds: 0, toSeconds: 15 })).toEqual(["(1000000", "(1015000"]);
    expect(zcountBounds(now, { label: "", fromSeconds: 15, toSeconds: 30 })).toEqual(["1015000", "(1030000"]);
    expect(zcountBounds(now, { label: "", fromSeconds: 3600, toSeconds: null })).toEqual(["4600000", "+inf"]);
  });
});
