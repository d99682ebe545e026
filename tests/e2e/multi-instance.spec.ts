import { expect, test } from "@playwright/test";
import OpenAI from "openai";
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
    // Exactness is tested with Valkey answering: on a loaded 2-core machine a 500 ms command
    // timeout would send some requests down the fail-open path, which is limited per instance.
    env: { TRUST_PROXY: "1", RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_MS: "60000", VALKEY_COMMAND_TIMEOUT_MS: "5000" },
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

test("500 concurrent openai SDK calls split between the instances keep one key's requests and tokens exact", async () => {
  const [a, b] = await Promise.all([
    startAppServer({ valkeyUrl: valkey.url, env: { API_KEYS: "sdk-requests:pro,sdk-tokens:pro", VALKEY_COMMAND_TIMEOUT_MS: "5000" } }),
    startAppServer({ valkeyUrl: valkey.url, env: { API_KEYS: "sdk-requests:pro,sdk-tokens:pro", VALKEY_COMMAND_TIMEOUT_MS: "5000" } }),
  ]);
  try {
    const clients = (apiKey: string) => [a, b].map((s) => new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0 }));
    // max_tokens 1: the simulator stops there, so a request is charged exactly what it reserved.
    const burst = (apiKey: string, content: (i: number) => string) => {
      const pair = clients(apiKey);
      return Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          pair[i % 2]!.chat.completions
            .create({ model: "flowgate-sim-1", messages: [{ role: "user", content: content(i) }], max_tokens: 1 })
            .withResponse()
            .then(
              (r) => ({ status: 200, tokensLeft: Number(r.response.headers.get("x-ratelimit-remaining-tokens")) }),
              (e: unknown) => ({ status: e instanceof OpenAI.APIError ? (e.status ?? 0) : -1, tokensLeft: NaN }),
            ),
        ),
      );
    };
    // The pro plan: 300 requests a minute (sliding-window counter, windows on
    // the minute) and 200,000 tokens a minute (a token bucket refilling 3.33 a ms).
    // Start well inside a minute, so the burst stays in one request window.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 61_000 - intoMinute));
    // Short prompts: the request limit binds at exactly 300.
    const short = await burst("sdk-requests", (i) => `short ${i}`);
    expect(short.filter((r) => r.status === 200)).toHaveLength(300);
    expect(short.filter((r) => r.status === 429)).toHaveLength(200);
    // 3,996 characters = 999 prompt tokens + 1 = 1,000 a request: the token limit binds at
    // 200, plus what the bucket refills while the burst runs, and not one more. Limits kept
    // per instance would admit twice that.
    const started = Date.now();
    const long = await burst("sdk-tokens", (i) => String(i).padStart(3996, "x"));
    const refilled = Math.floor(((Date.now() - started) * 200_000) / 60_000);
    const admitted = long.filter((r) => r.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(200);
    expect(admitted).toBeLessThanOrEqual(200 + Math.floor(refilled / 1000));
    expect(long.filter((r) => r.status === 429)).toHaveLength(500 - admitted);
    test.info().annotations.push({ type: "token-bound admits", description: `${admitted} (refill allowance ${Math.floor(refilled / 1000)})` });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
