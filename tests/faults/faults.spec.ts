import autocannon from "autocannon";
import { expect, test } from "@playwright/test";
import { startAppServer, type AppServer } from "../support/app-server";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * The fault suite: the built app (server.mjs) under steady load from
 * autocannon, while its Valkey is killed and restarted, and separately
 * paused (SIGSTOP) like a server that hangs. Asserted: no request waits
 * longer than the Valkey timeout plus a margin, every answer is the one
 * FAIL_MODE promises (never a 5xx from open mode, never a hang), the process
 * survives, the breaker opens and closes, /api/stats shows the outage and
 * recovers, and the limits are exact again afterwards. It prints a report.
 */

const COMMAND_TIMEOUT_MS = 300;
/** Scheduling noise on a shared 2-core machine running the load, the app and Valkey at once. */
const MARGIN_MS = 1200;

type App = AppServer;

const startApp = (valkey: TestValkey, env: Record<string, string>): Promise<App> =>
  startAppServer({
    valkeyUrl: valkey.url,
    timeoutMs: 60_000,
    env: {
      VALKEY_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      VALKEY_CONNECT_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      TRUST_PROXY: "1",
      LOG_VALKEY_ERRORS: "false",
      ...env,
    },
  });

interface Sample {
  /** ms since the load started, when the answer arrived. */
  at: number;
  status: number;
  latencyMs: number;
  degraded: boolean;
}

/** Steady load: `rps` requests a second for `seconds`, from 50 clients, 60 % repeated prompts. */
function load(url: string, rps: number, seconds: number): { done: Promise<autocannon.Result>; samples: Sample[]; started: number } {
  const samples: Sample[] = [];
  const started = Date.now();
  let n = 0;
  const instance = autocannon({
    url: `${url}/api/generate`,
    connections: 16,
    overallRate: rps,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          n += 1;
          const prompt = Math.random() < 0.6 ? `fault prompt ${n % 20}` : `fault prompt unique ${n}`;
          return {
            ...req,
            headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${n % 50}` },
            body: JSON.stringify({ prompt }),
          };
        },
      },
    ],
    setupClient: (client) => {
      let degraded = false;
      // autocannon passes the parser's raw header list here (its types say otherwise).
      client.on("headers", ((opts: { headers: string[] }) => {
        degraded = false;
        for (let i = 0; i < opts.headers.length; i += 2) {
          if (String(opts.headers[i]).toLowerCase() === "x-flowgate-degraded") degraded = true;
        }
      }) as never);
      client.on("response", (status: number, _bytes: number, latencyMs: number) => {
        samples.push({ at: Date.now() - started, status, latencyMs, degraded });
      });
    },
  });
  return { done: instance as unknown as Promise<autocannon.Result>, samples, started };
}

async function json<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

interface Watch {
  breakerStates: Set<string>;
  statsDisconnectedSeen: boolean;
  stop(): void;
}

/** Polls /api/health and /api/stats while the faults happen. */
function watch(url: string): Watch {
  const w: Watch = { breakerStates: new Set(), statsDisconnectedSeen: false, stop: () => {} };
  let running = true;
  w.stop = () => (running = false);
  void (async () => {
    while (running) {
      try {
        const health = await json<{ breaker: { state: string } }>(`${url}/api/health`);
        w.breakerStates.add(health.breaker.state);
        const stats = await json<{ connected: boolean }>(`${url}/api/stats`);
        if (!stats.connected) w.statsDisconnectedSeen = true;
      } catch {
        // the watcher never fails the run; the assertions below do
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return w;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if (await check()) return Date.now() - started;
    } catch {
      // keep trying
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not recovered within ${timeoutMs} ms`);
}

function countBy(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) out[s.status] = (out[s.status] ?? 0) + 1;
  return out;
}

/** The limit is exact again: a fresh client gets exactly 10 of 15. */
async function expectExactLimit(url: string, ip: string): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 15; i++) {
    const res = await fetch(`${url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify({ prompt: `after ${i}` }),
    });
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  expect(statuses.filter((s) => s === 200)).toHaveLength(10);
  expect(statuses.filter((s) => s === 429)).toHaveLength(5);
}

test.describe.configure({ mode: "serial", timeout: 180_000 });

test("FAIL_MODE=open: Valkey killed, restarted and hung under steady load", async () => {
  const valkey = await startValkey();
  const app = await startApp(valkey, { FAIL_MODE: "open" });
  const w = watch(app.url);
  try {
    const run = load(app.url, 150, 16);
    await new Promise((r) => setTimeout(r, 3000));
    const killedAt = Date.now() - run.started;
    await valkey.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await valkey.start();
    const restartedAt = Date.now() - run.started;
    const recoverMs = await until(async () => (await json<{ status: string }>(`${app.url}/api/health`)).status === "ok", 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    const pausedAt = Date.now() - run.started;
    valkey.pause();
    await new Promise((r) => setTimeout(r, 2000));
    valkey.resume();
    const resumedAt = Date.now() - run.started;
    const result = await run.done;
    w.stop();

    const outage = run.samples.filter((s) => s.at >= killedAt && s.at <= restartedAt + recoverMs);
    const hung = run.samples.filter((s) => s.at >= pausedAt && s.at <= resumedAt + 500);
    const maxLatency = Math.max(...run.samples.map((s) => s.latencyMs));
    console.info(
      [
        "[faults] FAIL_MODE=open, 150 req/s for 16 s, 50 clients",
        `  sent ${run.samples.length} answered; by status ${JSON.stringify(countBy(run.samples))}; errors ${result.errors}, timeouts ${result.timeouts}`,
        `  kill → restart: ${outage.length} answers ${JSON.stringify(countBy(outage))}, ${outage.filter((s) => s.degraded).length} marked degraded, max latency ${Math.max(0, ...outage.map((s) => s.latencyMs))} ms`,
        `  health ok again ${recoverMs} ms after the restart`,
        `  SIGSTOP 2 s: ${hung.length} answers ${JSON.stringify(countBy(hung))}, max latency ${Math.max(0, ...hung.map((s) => s.latencyMs))} ms`,
        `  max latency overall ${maxLatency} ms (bound ${COMMAND_TIMEOUT_MS + MARGIN_MS} ms); breaker states seen ${[...w.breakerStates].join(", ")}`,
      ].join("\n"),
    );

    // Every answer is what FAIL_MODE=open promises: served (degraded) or limited, never an error or a hang.
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    for (const s of run.samples) expect([200, 429]).toContain(s.status);
    expect(outage.some((s) => s.degraded)).toBe(true);
    expect(maxLatency).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    // The process survived, the breaker opened and closed again, the stats showed the outage.
    expect(app.child.exitCode).toBeNull();
    expect(w.breakerStates.has("open")).toBe(true);
    expect((await json<{ breaker: { state: string } }>(`${app.url}/api/health`)).breaker.state).toBe("closed");
    expect(w.statsDisconnectedSeen).toBe(true);
    expect((await json<{ connected: boolean }>(`${app.url}/api/stats`)).connected).toBe(true);
    await expectExactLimit(app.url, "203.0.113.222");
  } finally {
    w.stop();
    valkey.resume();
    await app.stop();
    await valkey.stop();
  }
});

test("FAIL_MODE=closed: an outage answers 503 at once, then everything recovers", async () => {
  const valkey = await startValkey();
  const app = await startApp(valkey, { FAIL_MODE: "closed" });
  try {
    const run = load(app.url, 100, 8);
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now() - run.started;
    await valkey.stop();
    await new Promise((r) => setTimeout(r, 2500));
    await valkey.start();
    const restartedAt = Date.now() - run.started;
    const result = await run.done;
    const outage = run.samples.filter((s) => s.at >= killedAt + 200 && s.at <= restartedAt);
    console.info(
      `[faults] FAIL_MODE=closed, 100 req/s for 8 s: ${run.samples.length} answers ${JSON.stringify(countBy(run.samples))}; ` +
        `during the outage ${JSON.stringify(countBy(outage))}, max latency ${Math.max(0, ...outage.map((s) => s.latencyMs))} ms`,
    );
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    for (const s of run.samples) expect([200, 429, 503]).toContain(s.status);
    expect(outage.length).toBeGreaterThan(0);
    for (const s of outage) expect(s.status).toBe(503);
    expect(Math.max(...run.samples.map((s) => s.latencyMs))).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect(app.child.exitCode).toBeNull();
    await until(async () => (await json<{ status: string }>(`${app.url}/api/health`)).status === "ok", 15_000);
    await expectExactLimit(app.url, "203.0.113.223");
  } finally {
    await app.stop();
    await valkey.stop();
  }
});
