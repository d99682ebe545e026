import { expect, test } from "@playwright/test";
import { startAppServer, type AppServer } from "../support/app-server";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * Two instances of the built app (server.mjs, as in production) on one
 * Valkey: one client's limit must hold across both. A limiter that counts in
 * each process (the LiteLLM multi-replica over-admission bug) would let the
 * limit through once per instance. Here the window lives in Valkey and the
 * decision is one Lua script, so the two instances admit exactly the limit
 * between them, however the requests are split and interleaved.
 *
 * Uses the build the e2e suite already made (FLOWGATE_DIST_DIR, .next-test
 * under scripts/test.sh) and its own private Valkey.
 */

const LIMIT = 50;
const REQUESTS = 200;

type Instance = AppServer;

const startInstance = (valkeyUrl: string): Promise<Instance> =>
  startAppServer({
    valkeyUrl,
    // One proxy hop believed, so the test can name the client.
    env: { TRUST_PROXY: "1", RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_MS: "60000" },
  });

let valkey: TestValkey;
let instances: Instance[] = [];

test.beforeAll(async () => {
  valkey = await startValkey();
  instances = await Promise.all([startInstance(valkey.url), startInstance(valkey.url)]);
});

test.afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await valkey?.stop();
});

test("two app instances on one Valkey admit exactly one client's limit between them", async () => {
  const client = "203.0.113.77";
  const send = async (i: number) => {
    const instance = instances[i % instances.length] as Instance;
    const res = await fetch(`${instance.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": client },
      body: JSON.stringify({ prompt: `multi-instance ${i % 7}` }),
    });
    await res.arrayBuffer();
    return { instance: i % instances.length, status: res.status, identity: res.headers.get("x-flowgate-identity") };
  };

  // All at once, alternating between the instances.
  const answers = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => send(i)));

  expect(new Set(answers.map((a) => a.identity))).toEqual(new Set([`ip:${client}`]));
  const count = (status: number, instance?: number) =>
    answers.filter((a) => a.status === status && (instance === undefined || a.instance === instance)).length;
  expect(count(200)).toBe(LIMIT);
  expect(count(429)).toBe(REQUESTS - LIMIT);
  // Each instance answered its half; neither may admit a limit of its own.
  expect(count(200, 0) + count(429, 0)).toBe(REQUESTS / 2);
  expect(count(200, 1) + count(429, 1)).toBe(REQUESTS / 2);
  test.info().annotations.push({ type: "admitted per instance", description: `${count(200, 0)} + ${count(200, 1)}` });

  // Afterwards both refuse the client and report the same shared counts.
  for (const instance of instances) {
    const res = await fetch(`${instance.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": client },
      body: JSON.stringify({ prompt: "one more" }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
  }
  const stats = await Promise.all(
    instances.map(async (i) => (await (await fetch(`${i.url}/api/stats`)).json()) as { rateLimit: { blockedRequests: number } }),
  );
  expect(stats.map((s) => s.rateLimit.blockedRequests)).toEqual([REQUESTS - LIMIT + 2, REQUESTS - LIMIT + 2]);
});
