import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { HEALTH_PING_FAILED } from "@/lib/health";
import { errorBodySchema, healthSchema, statsSchema } from "@/lib/schemas";
import { STATS_UNREADABLE } from "@/lib/stats/read-stats";
import { chatRequest, generateRequest, loadApp, type LoadedApp } from "../support/app";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * Issue 10, items 7 and 11, with Valkey out of reach: every client-facing
 * body (generate's 503, the OpenAI door's 503, /api/stats, /api/health) is in
 * the gateway's own words, never ioredis's or the OS's; the cause goes to the
 * log. And a 503 says when to come back: the breaker's next probe, not 1 s.
 *
 * Two ways to be out of reach: nothing listens on the port (ECONNREFUSED:
 * the client never becomes ready), and a server that stops answering after
 * the client is ready (SIGSTOP: every command times out, which is where
 * ioredis's "Command timed out" used to reach /api/stats and /api/health).
 */

const suiteUrl = process.env.VALKEY_URL as string;
const opened: LoadedApp[] = [];
afterAll(async () => {
  for (const app of opened) await app.close();
  process.env.VALKEY_URL = suiteUrl;
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** ioredis's, Node's and the OS's words, and Valkey's address: none belongs in a body. */
const FORBIDDEN = [/ECONNREFUSED/, /\bconnect\b/i, /Connection is closed/i, /Command timed out/i, /ioredis/i, /127\.0\.0\.1/, /next probe in/i, /ETIMEDOUT/, /Stream isn't writeable/i];

function expectOwnWords(text: string, what: string): void {
  for (const pattern of FORBIDDEN) expect(text, `${what} must not contain ${pattern}`).not.toMatch(pattern);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("nothing listens at VALKEY_URL (FAIL_MODE=closed, breaker threshold 1, cool-down 7 s)", () => {
  const COOLDOWN = 7_000;
  let app: LoadedApp;
  beforeAll(async () => {
    app = await loadApp({
      VALKEY_URL: `redis://127.0.0.1:${await closedPort()}`,
      FAIL_MODE: "closed",
      BREAKER_THRESHOLD: "1",
      BREAKER_COOLDOWN_MS: String(COOLDOWN),
      VALKEY_CONNECT_TIMEOUT_MS: "200",
      VALKEY_COMMAND_TIMEOUT_MS: "200",
    });
    opened.push(app);
    process.env.VALKEY_URL = suiteUrl;
  });

  it("POST /api/generate: 503 valkey_unavailable in our words, Retry-After = the breaker's next probe (first call and while open)", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await app.generate.POST(generateRequest(`unreachable ${i}`, { ip: "192.0.2.170" }));
      const nextProbeMs = app.deps.breaker.snapshot().nextProbeInMs;
      expect(app.deps.breaker.state()).toBe("open");
      expect(res.status).toBe(503);
      const retryAfter = Number(res.headers.get("retry-after"));
      // The first call opened the breaker; the second was refused by it. Both wait for the probe.
      expect(retryAfter).toBe(Math.ceil(nextProbeMs / 1000));
      expect(retryAfter).toBeGreaterThanOrEqual(6);
      expect(retryAfter).toBeLessThanOrEqual(COOLDOWN / 1000);
      const text = await res.text();
      expectOwnWords(text, "generate's 503");
      const body = errorBodySchema.parse(JSON.parse(text));
      expect(body.code).toBe("valkey_unavailable");
      expect(body.error).toMatch(/cannot reach Valkey/);
      expect(body.retryAfterSeconds).toBe(retryAfter);
    }
  });

  it("POST /v1/chat/completions: 503 service_unavailable in our words, retry-after and retry-after-ms from the next probe", async () => {
    const res = await app.chat.POST(chatRequest("unreachable, openai door", {}, { ip: "192.0.2.171" }));
    const nextProbeMs = app.deps.breaker.snapshot().nextProbeInMs;
    expect(res.status).toBe(503);
    const retryAfterMs = Number(res.headers.get("retry-after-ms"));
    // Measured a moment before this snapshot: the same probe, a few ms further away.
    expect(retryAfterMs).toBeGreaterThanOrEqual(nextProbeMs);
    expect(retryAfterMs).toBeLessThanOrEqual(nextProbeMs + 500);
    expect(retryAfterMs).toBeGreaterThan(5_000);
    expect(Number(res.headers.get("retry-after"))).toBe(Math.ceil(nextProbeMs / 1000));
    const text = await res.text();
    expectOwnWords(text, "the OpenAI door's 503");
    const body = JSON.parse(text) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: "server_error", code: "service_unavailable" });
  });

  it("GET /api/stats and /api/health: our sentence and their stable state, no library text", async () => {
    const statsRes = await app.stats.GET();
    expect(statsRes.status).toBe(200);
    const statsText = await statsRes.text();
    expectOwnWords(statsText, "/api/stats");
    const stats = statsSchema.parse(JSON.parse(statsText));
    expect(stats.connected).toBe(false);
    expect(stats.error).toBe("Valkey is not reachable right now");

    const healthRes = await app.health.GET();
    expect(healthRes.status).toBe(503);
    const healthText = await healthRes.text();
    expectOwnWords(healthText, "/api/health");
    const health = healthSchema.parse(JSON.parse(healthText));
    expect(health).toMatchObject({ status: "down", valkey: { reachable: false, roundTripMs: null, error: "Valkey is not reachable right now" } });
  });
});

describe("a server that stops answering once the client is ready (SIGSTOP)", () => {
  let valkey: TestValkey;
  let app: LoadedApp;
  beforeAll(async () => {
    valkey = await startValkey();
    app = await loadApp({ VALKEY_URL: valkey.url, FAIL_MODE: "closed", VALKEY_COMMAND_TIMEOUT_MS: "300" });
    opened.push(app);
    process.env.VALKEY_URL = suiteUrl;
  });
  afterAll(async () => {
    valkey.resume();
    await app.close();
    await valkey.stop();
  });

  it("generate, /v1, /api/stats and /api/health answer in our words; the timeouts go to the log", async () => {
    expect((await app.generate.POST(generateRequest("warm", { ip: "192.0.2.172" }))).status).toBe(200);
    expect((await app.health.GET()).status).toBe(200);
    const warned = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    valkey.pause();
    try {
      const generated = await app.generate.POST(generateRequest("paused", { ip: "192.0.2.172" }));
      expect(generated.status).toBe(503);
      const generatedText = await generated.text();
      expectOwnWords(generatedText, "generate's 503");
      expect(errorBodySchema.parse(JSON.parse(generatedText)).code).toBe("valkey_unavailable");

      const chat = await app.chat.POST(chatRequest("paused, openai door", {}, { ip: "192.0.2.172" }));
      expect(chat.status).toBe(503);
      const chatText = await chat.text();
      expectOwnWords(chatText, "the OpenAI door's 503");
      expect((JSON.parse(chatText) as { error: { code: string } }).error.code).toBe("service_unavailable");

      const statsText = await (await app.stats.GET()).text();
      expectOwnWords(statsText, "/api/stats");
      const stats = statsSchema.parse(JSON.parse(statsText));
      expect(stats.connected).toBe(false);
      expect(stats.error).toBe(STATS_UNREADABLE);

      const healthRes = await app.health.GET();
      const healthText = await healthRes.text();
      expectOwnWords(healthText, "/api/health");
      const health = healthSchema.parse(JSON.parse(healthText));
      expect(healthRes.status).toBe(503);
      expect(health.valkey).toMatchObject({ reachable: false, error: HEALTH_PING_FAILED });
    } finally {
      valkey.resume();
    }
    // The causes are in the log.
    const logged = warned.mock.calls.map((call) => call.map((part) => (part instanceof Error ? part.message : String(part))).join(" "));
    expect(logged.some((line) => line.includes("stats snapshot failed") && /timed out/i.test(line))).toBe(true);
    expect(logged.some((line) => line.includes("health PING failed") && /timed out/i.test(line))).toBe(true);
  });
});
