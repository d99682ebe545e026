import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBodySchema, generateResponseSchema, rateLimitedBodySchema, statsSchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * Valkey goes away mid-run. Requests must neither hang nor crash: FAIL_MODE
 * decides between an answer limited by the in-process fallback limiter
 * (open) and a 503 (closed), each within a second, and everything recovers
 * by itself when the server returns.
 */

let valkey: TestValkey;

beforeAll(async () => {
  valkey = await startValkey();
  process.env.VALKEY_URL = valkey.url;
});
afterAll(() => valkey.stop());

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not recovered within ${timeoutMs} ms`);
}

describe("Valkey outage", () => {
  let app: LoadedApp;
  afterAll(() => app?.close());

  it("FAIL_MODE=open serves through the fallback limiter and says so, stats say disconnected, then both recover", async () => {
    app = await loadApp({ FAIL_MODE: "open", RATE_LIMIT_MAX: "3" });
    const ok = await app.generate.POST(generateRequest("before the outage", { ip: "192.0.2.77" }));
    expect(ok.status).toBe(200);

    await valkey.stop();
    // Fail open is not unlimited: the in-process fallback limiter applies the
    // same limit (3), each answer fast and marked degraded.
    for (let i = 0; i < 5; i++) {
      const { value: res, ms } = await timed(() => app.generate.POST(generateRequest(`during ${i}`, { ip: "192.0.2.77" })));
      expect(ms).toBeLessThan(1000);
      expect(res.headers.get("x-flowgate-degraded")).toBe("fail-open");
      if (i < 3) {
        expect(res.status).toBe(200);
        expect(res.headers.get("x-cache")).toBe("BYPASS");
        const body = generateResponseSchema.parse(await res.json());
        expect(body.rateLimit).toBeNull();
        expect(body.degraded).toContain("valkey-unavailable");
      } else {
        expect(res.status).toBe(429);
        const body = rateLimitedBodySchema.parse(await res.json());
        expect(body.policy).toBe("anonymous");
        expect(body.degraded).toContain("fallback limiter");
      }
    }
    const { value: statsRes, ms: statsMs } = await timed(() => app.stats.GET());
    expect(statsMs).toBeLessThan(1000);
    const down = statsSchema.parse(await statsRes.json());
    expect(down.connected).toBe(false);
    expect(down.error).toBeTruthy();

    await valkey.start();
    await until(async () => {
      const res = await app.generate.POST(generateRequest("after the outage", { ip: "192.0.2.78" }));
      return res.status === 200 && res.headers.get("x-cache") === "MISS";
    }, 10_000);
    const up = statsSchema.parse(await (await app.stats.GET()).json());
    expect(up.connected).toBe(true);
    // The server restarted empty: the limit is exact again from scratch.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.generate.POST(generateRequest("x", { ip: "192.0.2.79" }))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it("FAIL_MODE=closed answers 503 with a JSON error within a second, then recovers", async () => {
    await app?.close();
    app = await loadApp({ FAIL_MODE: "closed" });
    expect((await app.generate.POST(generateRequest("warm", { ip: "192.0.2.80" }))).status).toBe(200);
    await valkey.stop();
    const { value: res, ms } = await timed(() => app.generate.POST(generateRequest("down", { ip: "192.0.2.80" })));
    expect(ms).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(errorBodySchema.parse(await res.json()).code).toBe("valkey_unavailable");
    await valkey.start();
    await until(async () => (await app.generate.POST(generateRequest("up", { ip: "192.0.2.81" }))).status === 200, 10_000);
  });

  it("a hung server (SIGSTOP) costs at most the command timeout, not a hang", async () => {
    await app?.close();
    app = await loadApp({ FAIL_MODE: "closed", VALKEY_COMMAND_TIMEOUT_MS: "300" });
    expect((await app.generate.POST(generateRequest("warm", { ip: "192.0.2.82" }))).status).toBe(200);
    valkey.pause();
    try {
      const { value: res, ms } = await timed(() => app.generate.POST(generateRequest("paused", { ip: "192.0.2.82" })));
      expect(res.status).toBe(503);
      expect(ms).toBeLessThan(1000);
    } finally {
      valkey.resume();
    }
    await until(async () => (await app.generate.POST(generateRequest("resumed", { ip: "192.0.2.83" }))).status === 200, 10_000);
  });
});
