import { describe, expect, it } from "vitest";
import type { ClusterScaleResult, ScaleTarget } from "../../scripts/bench/cluster-scale";
import { perCore, renderClusterScale, sizingRows } from "../../scripts/bench/report";

const target = (name: ScaleTarget["name"], cpuMicros: number, serverMicros: number): ScaleTarget => ({
  name,
  label: name,
  masters: name === "single" ? 1 : 3,
  shards: name === "single" ? 1 : 16,
  perSecond: 1000,
  roundsPerSecond: [1000],
  latency: { count: 1, p50: 1, p90: 1, p99: 1, max: 1, mean: 1 },
  errors: 0,
  decisions: 1000,
  callsPerDecision: name === "single" ? 1 : 2,
  serverMicros,
  cpuMicros,
  netBytes: 1000,
  masterShare: name === "single" ? [1] : [0.34, 0.33, 0.33],
});

const result: ClusterScaleResult = {
  concurrency: 32,
  roundMs: 1000,
  rounds: 2,
  identities: 1000,
  prompts: 64,
  cpus: 2,
  targets: [target("single", 50, 40), target("cluster", 100, 80), target("lookup", 20, 10)],
  balance: [3, 6, 12].flatMap((masters) => [
    { masters, shards: 16, busiest: 1.5 },
    { masters, shards: 64, busiest: 2 },
  ]),
};

describe("the bench's sizing table", () => {
  it("turns µs per decision into decisions per second per core", () => {
    expect(perCore(50)).toBe(20_000);
    expect(perCore(0)).toBe(0);
  });

  it("sizes one master at the node's decision and more at the cluster's, both calls", () => {
    const [one, three] = sizingRows(result);
    expect(one?.ceilingCpu).toBe(20_000);
    expect(one?.load).toBe(1);
    expect(one?.planned).toBeCloseTo(12_000);
    expect(three?.ceilingCpu).toBe(30_000);
    expect(three?.ceilingScript).toBe(37_500);
    // 80 of the cluster's 100 µs follow the caller's tag, on a master with twice its share of tags; the 20 µs lookup spreads evenly.
    expect(three?.load).toBeCloseTo(1.8);
    expect(three?.planned).toBeCloseTo((30_000 * 0.6) / 1.8);
  });

  it("renders the ratio first and one row per master count", () => {
    const text = renderClusterScale(result).join("\n");
    expect(text).toContain("| Throughput | 1.00× |");
    for (const n of [1, 3, 6, 12]) expect(text).toMatch(new RegExp(`^\\| ${n}[ |]`, "m"));
    expect(text).not.toContain("${");
  });
});
