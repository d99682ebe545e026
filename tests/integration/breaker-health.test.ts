import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthSchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * The circuit breaker with a private Valkey stopped and restarted:
 * closed → open after N consecutive failures → half-open after the
 * cool-down → open again when the probe fails → closed when it succeeds.
 * /api/health follows it.
 */

let valkey: TestValkey;
let app: LoadedApp;
const COOLDOWN = 400;

beforeAll(async () => {
  valkey = await startValkey();
  process.env.VALKEY_URL = valkey.url;
  app = await loadApp({ BREAKER_THRESHOLD: "3", BREAKER_COOLDOWN_MS: String(COOLDOWN), FAIL_MODE: "open", RATE_LIMIT_MAX: "100" });
});
afterAll(async () => {
  await app.close();
  await valkey.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function health() {
  const res = await app.health.GET();
  return { status: res.status, body: healthSchema.parse(await res.json()) };
}
const send = (i: number | string) => app.generate.POST(generateRequest(`breaker ${i}`, { ip: "192.0.2.90" }));
async function valkeyErrors(): Promise<number> {
  const text = await (await app.metrics.GET()).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("flowgate_valkey_errors_total{"))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

describe("circuit breaker and health", () => {
  it("goes closed → open → half-open → open → half-open → closed as Valkey dies and returns", async () => {
    const up = await health();
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ status: "ok", valkey: { reachable: true }, breaker: { state: "closed" } });
    expect(up.body.valkey.roundTripMs).toBeGreaterThan(0);
    expect((await send(0)).headers.get("x-cache")).toBe("MISS");

    await valkey.stop();
    for (let i = 1; i <= 2; i++) {
      expect((await send(i)).headers.get("x-flowgate-degraded")).toBe("fail-open");
      expect(app.deps.breaker.state()).toBe("closed");
    }
    await send(3);
    expect(app.deps.breaker.state()).toBe("open");

    // Open: no Valkey call at all, so no error counted and no wait.
    const errorsBefore = await valkeyErrors();
    const started = performance.now();
    expect((await send(4)).headers.get("x-flowgate-degraded")).toBe("fail-open");
    expect(performance.now() - started).toBeLessThan(250);
    expect(await valkeyErrors()).toBe(errorsBefore);

    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: "down", valkey: { reachable: false, roundTripMs: null }, breaker: { state: "open" } });

    // After the cool-down one probe goes through; it fails, so the breaker opens again.
    await sleep(COOLDOWN + 50);
    expect(app.deps.breaker.state()).toBe("half-open");
    await send(5);
    expect(app.deps.breaker.state()).toBe("open");
    expect(await valkeyErrors()).toBe(errorsBefore + 1);

    await valkey.start();
    // Health sees Valkey back before the breaker closes: reachable, but still degraded.
    const deadline = Date.now() + 10_000;
    let back = await health();
    while (!back.body.valkey.reachable && Date.now() < deadline) {
      await sleep(100);
      back = await health();
    }
    expect(back.body.valkey.reachable).toBe(true);
    if (app.deps.breaker.snapshot().state === "open") {
      expect(back.status).toBe(503);
      expect(back.body.status).toBe("degraded");
    }
    await sleep(COOLDOWN + 50);
    const probe = await send(6);
    expect(probe.headers.get("x-flowgate-degraded")).toBeNull();
    expect(probe.headers.get("x-cache")).toBe("MISS");
    expect(app.deps.breaker.state()).toBe("closed");
    const healed = await health();
    expect(healed.status).toBe(200);
    expect(healed.body.breaker).toMatchObject({ state: "closed", consecutiveFailures: 0 });

    const text = await (await app.metrics.GET()).text();
    expect(text).toContain('flowgate_breaker_state{state="closed"} 1');
    expect(text).toMatch(/flowgate_breaker_transitions_total\{to="open"\} [2-9]/);
  });

  it("FAIL_MODE_BY_TIER closes one tier while the others fail open", async () => {
    await app.close();
    app = await loadApp({ FAIL_MODE: "open", FAIL_MODE_BY_TIER: "free:closed", BREAKER_THRESHOLD: "1", BREAKER_COOLDOWN_MS: "60000" });
    await valkey.stop();
    try {
      const anonymous = await app.generate.POST(generateRequest("tiered", { ip: "192.0.2.91" }));
      expect(anonymous.status).toBe(200);
      const free = await app.generate.POST(generateRequest("tiered", { headers: { authorization: "Bearer demo-free-key" } }));
      expect(free.status).toBe(503);
    } finally {
      await valkey.start();
    }
  });
});
