import { afterAll, describe, expect, it } from "vitest";
import { errorBodySchema } from "@/lib/schemas";
import { generateRequest, jsonRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";

/** A client that lies about who it is, and a simulator used as a flood. */

let app: LoadedApp;
afterAll(() => app?.close());

describe("identity", () => {
  it("without TRUST_PROXY, varying X-Forwarded-For does not escape the limit", async () => {
    app = await loadApp({ RATE_LIMIT_MAX: "5", TRUST_PROXY: "false" });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await app.generate.POST(
        generateRequest(`spoof ${i}`, { ip: "203.0.113.50", headers: { "x-forwarded-for": `10.9.${i}.1, 10.8.${i}.2`, "x-real-ip": `10.7.${i}.3` } }),
      );
      statuses.push(res.status);
      if (res.status === 200) expect(res.headers.get("x-flowgate-identity")).toBe("ip:203.0.113.50");
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it("with TRUST_PROXY=1, only the hop the proxy appended is believed", async () => {
    await app.close();
    app = await loadApp({ RATE_LIMIT_MAX: "5", TRUST_PROXY: "1" });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      // The client prepends a fake address each time; the proxy (peer 10.0.0.2) appends the real one.
      const res = await app.generate.POST(
        generateRequest(`proxied ${i}`, { ip: "10.0.0.2", headers: { "x-forwarded-for": `6.6.${i}.6, 198.51.100.77` } }),
      );
      statuses.push(res.status);
      if (res.status === 200) expect(res.headers.get("x-flowgate-identity")).toBe("ip:198.51.100.77");
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    // Two real clients behind the same proxy are told apart.
    const other = await app.generate.POST(generateRequest("other", { ip: "10.0.0.2", headers: { "x-forwarded-for": "198.51.100.78" } }));
    expect(other.status).toBe(200);
  });

  it("a very long or unknown API key is a 401 and writes nothing but its address's expiring failure count", async () => {
    const before = await keysUnder(app.inspect, app.prefix);
    for (const key of ["k".repeat(8000), "no-such-key", "démo-prö-kéy"]) {
      const res = await app.generate.POST(generateRequest("key", { headers: { "x-api-key": encodeURIComponent(key) } }));
      expect(res.status).toBe(401);
      expect(errorBodySchema.parse(await res.json()).code).toBe("unauthorized");
    }
    // Wrong keys are counted per address (issue 10, item 2): one counter, gone after its minute.
    const counter = app.deps.keys.authFailures(0, "ip:203.0.113.7");
    expect(await keysUnder(app.inspect, app.prefix)).toEqual([...before, counter].sort());
    expect(await app.inspect.get(counter)).toBe("3");
    const ttl = await app.inspect.pttl(counter);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});

describe("the simulator is itself limited", () => {
  it("refuses runs beyond SIMULATE_MAX_RUNS at once with a 429, then accepts again", async () => {
    await app.close();
    app = await loadApp({ SIMULATE_MAX_RUNS: "1", SIMULATED_LATENCY_MS: "200" });
    const first = app.simulate.POST(jsonRequest("/api/simulate", { count: 20, clients: 20, concurrency: 2 }));
    await new Promise((r) => setTimeout(r, 50));
    const second = await app.simulate.POST(jsonRequest("/api/simulate", { count: 5 }));
    expect(second.status).toBe(429);
    expect(errorBodySchema.parse(await second.json()).code).toBe("simulator_busy");
    expect((await first).status).toBe(200);
    const third = await app.simulate.POST(jsonRequest("/api/simulate", { count: 5 }));
    expect(third.status).toBe(200);
  });

  it("with SIMULATE_MAX_RUNS=1, six parallel runs give exactly one run and five 429 simulator_busy", async () => {
    await app.close();
    app = await loadApp({ SIMULATE_MAX_RUNS: "1", SIMULATED_LATENCY_MS: "100" });
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => app.simulate.POST(jsonRequest("/api/simulate", { count: 4, clients: 4 }, { ip: `203.0.113.${100 + i}` }))),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 429, 429, 429, 429, 429]);
    for (const res of responses.filter((r) => r.status === 429)) {
      expect(errorBodySchema.parse(await res.json()).code).toBe("simulator_busy");
    }
    // The slot is given back: the next run, and a streamed one after it, start.
    expect((await app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }))).status).toBe(200);
    const streamed = await app.simulate.POST(jsonRequest("/api/simulate", { count: 2 }, { headers: { accept: "application/x-ndjson" } }));
    expect(streamed.status).toBe(200);
    const busy = await app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }));
    expect(busy.status).toBe(429);
    expect((await streamed.text()).trim().split("\n").at(-1)).toContain('"type":"done"');
    expect((await app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }))).status).toBe(200);
  });

  it("a run refused by the per-caller quota gives its slot back", async () => {
    await app.close();
    app = await loadApp({ SIMULATE_MAX_RUNS: "1", SIMULATE_RUNS_PER_MINUTE: "1" });
    expect((await app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }, { ip: "203.0.113.120" }))).status).toBe(200);
    const refused = await app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }, { ip: "203.0.113.120" }));
    expect(errorBodySchema.parse(await refused.json()).code).toBe("rate_limited");
    expect((await app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }, { ip: "203.0.113.121" }))).status).toBe(200);
  });

  it("caps the count to the server's limit", async () => {
    await app.close();
    app = await loadApp({ SIMULATE_MAX_COUNT: "30", SIMULATE_MAX_CONCURRENCY: "3" });
    const res = await app.simulate.POST(jsonRequest("/api/simulate", { count: 500, clients: 100 }));
    const body = (await res.json()) as { summary: { total: number } };
    expect(body.summary.total).toBe(30);
  });
});

describe("the simulator is limited per caller", () => {
  it("lets one caller start SIMULATE_RUNS_PER_MINUTE runs a minute, across instances, then answers 429 with Retry-After", async () => {
    await app.close();
    app = await loadApp({ SIMULATE_RUNS_PER_MINUTE: "3" });
    const ask = (ip: string) => app.simulate.POST(jsonRequest("/api/simulate", { count: 1 }, { ip }));
    expect((await ask("203.0.113.90")).status).toBe(200);
    expect((await ask("203.0.113.90")).status).toBe(200);
    // A second app instance on the same Valkey shares the count.
    const other = await loadApp({ SIMULATE_RUNS_PER_MINUTE: "3", VALKEY_PREFIX: app.prefix });
    const third = await other.simulate.POST(jsonRequest("/api/simulate", { count: 1 }, { ip: "203.0.113.90" }));
    await other.close();
    expect(third.status).toBe(200);
    app = await loadApp({ SIMULATE_RUNS_PER_MINUTE: "3", VALKEY_PREFIX: app.prefix });
    const refused = await ask("203.0.113.90");
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as { code: string; retryAfterSeconds: number; policy: string };
    expect(body).toMatchObject({ code: "rate_limited", policy: "simulator" });
    expect(Number(refused.headers.get("retry-after"))).toBe(body.retryAfterSeconds);
    // Another caller is not affected.
    expect((await ask("203.0.113.91")).status).toBe(200);
  });
});
