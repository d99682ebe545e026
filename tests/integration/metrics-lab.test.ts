import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labResultSchema } from "@/lib/schemas";
import { generateRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";
import { parsePrometheusText } from "../support/prometheus";

let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "2" });
});
afterAll(() => app.close());

describe("GET /api/metrics", () => {
  it("is valid Prometheus text with decisions by outcome and tier, cache results, latency and breaker state", async () => {
    const sum = (families: ReturnType<typeof parsePrometheusText>, name: string, labels: Record<string, string>) =>
      (families.get(name.replace(/_(count|sum|bucket)$/, ""))?.samples ?? families.get(name)?.samples ?? [])
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    const before = parsePrometheusText(await (await app.metrics.GET()).text());
    await app.generate.POST(generateRequest("metrics one", { ip: "192.0.2.60" }));
    await app.generate.POST(generateRequest("metrics one", { ip: "192.0.2.60" }));
    await app.generate.POST(generateRequest("metrics one", { ip: "192.0.2.60" }));

    const res = await app.metrics.GET();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(res.headers.get("content-type")).toContain("version=0.0.4");
    const after = parsePrometheusText(await res.text());
    const delta = (name: string, labels: Record<string, string>) => sum(after, name, labels) - sum(before, name, labels);

    expect(after.get("flowgate_decisions_total")?.type).toBe("counter");
    expect(delta("flowgate_decisions_total", { outcome: "miss", tier: "anonymous" })).toBe(1);
    expect(delta("flowgate_decisions_total", { outcome: "hit", tier: "anonymous" })).toBe(1);
    expect(delta("flowgate_decisions_total", { outcome: "blocked", tier: "anonymous" })).toBe(1);
    expect(delta("flowgate_cache_lookups_total", { result: "hit" })).toBe(1);
    expect(delta("flowgate_cache_lookups_total", { result: "miss" })).toBe(1);
    expect(delta("flowgate_rate_limit_refusals_total", { policy: "anonymous" })).toBe(1);
    expect(after.get("flowgate_decision_duration_seconds")?.type).toBe("histogram");
    expect(delta("flowgate_decision_duration_seconds_count", { path: "valkey" })).toBe(3);
    expect(after.get("flowgate_valkey_errors_total")?.type).toBe("counter");
    expect(sum(after, "flowgate_breaker_state", { state: "closed" })).toBe(1);
  });

  it("the reader used above rejects broken exposition text", () => {
    expect(() => parsePrometheusText("x 1")).toThrow();
    expect(() => parsePrometheusText('# TYPE a counter\na{b="c} 1\n')).toThrow();
    expect(() => parsePrometheusText("# TYPE a counter\na one\n")).toThrow();
    expect(() => parsePrometheusText("# TYPE a counter\n# TYPE b counter\nb 1\na 2\n")).toThrow();
  });
});

describe("GET/POST /api/lab", () => {
  it("runs the boundary burst through all four algorithms and shows how far each exceeds the nominal rate", async () => {
    const res = await app.lab.POST(new Request("http://localhost/api/lab", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ limit: 10, windowMs: 60_000 }),
    }));
    expect(res.status).toBe(200);
    const lab = labResultSchema.parse(await res.json());
    const by = Object.fromEntries(lab.algorithms.map((a) => [a.algorithm, a]));
    expect(Object.keys(by).sort()).toEqual(["fixed-window", "sliding-counter", "sliding-log", "token-bucket"]);
    // The exact log never exceeds the limit in any window.
    expect(by["sliding-log"]).toMatchObject({ maxInAnyWindow: 10, beyondNominal: 0, keyType: "zset" });
    // The pattern and the clock are fixed, so every figure is exact. Window 0
    // already holds 5 requests when its last ms brings 20 more, and window 1's
    // first ms 20 more again:
    // - the fixed window takes 5 + 10 at the boundary: 19 within one window (2× minus the one at t=0);
    expect(by["fixed-window"]).toMatchObject({ boundaryBurstAdmitted: 15, maxInAnyWindow: 19, beyondNominal: 9 });
    // - the token bucket spends its full burst at once and then refills: 19 as well;
    expect(by["token-bucket"]).toMatchObject({ boundaryBurstAdmitted: 10, maxInAnyWindow: 19, beyondNominal: 9 });
    // - the sliding counter assumes window 0's requests were spread evenly,
    //   so it under-counts a burst at its end: 14 in one window;
    expect(by["sliding-counter"]).toMatchObject({ boundaryBurstAdmitted: 5, maxInAnyWindow: 14, beyondNominal: 4 });
    // - and the log is exact: 5 + 1, then never more than 10 in any window.
    expect(by["sliding-log"]).toMatchObject({ boundaryBurstAdmitted: 6 });
    for (const a of lab.algorithms) expect(a.memoryBytes).toBeGreaterThan(0);
    // The log keeps a member per request: the heaviest per client.
    expect(by["sliding-log"]!.memoryBytes).toBeGreaterThan(by["fixed-window"]!.memoryBytes);
    // The series adds up.
    expect(lab.series).toHaveLength(30);
    expect(lab.series.reduce((s, p) => s + p.sent, 0)).toBe(lab.sent);
    for (const a of lab.algorithms) expect(lab.series.reduce((s, p) => s + p.admitted[a.algorithm], 0)).toBe(a.admitted);
    // Nothing is left behind.
    expect(await keysUnder(app.inspect, `${app.prefix}lab:`)).toEqual([]);
  });

  it("takes its parameters from the query on GET and refuses bad ones", async () => {
    const ok = await app.lab.GET(new Request("http://localhost/api/lab?limit=5&windowMs=1000"));
    expect(labResultSchema.parse(await ok.json())).toMatchObject({ limit: 5, windowMs: 1000 });
    const bad = await app.lab.GET(new Request("http://localhost/api/lab?limit=100000"));
    expect(bad.status).toBe(400);
  });
});
