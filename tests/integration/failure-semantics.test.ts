import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { errorBodySchema, generateResponseSchema, rateLimitedBodySchema } from "@/lib/schemas";
import { BUCKET_MS, bucketStart } from "@/lib/valkey/keys";
import { chatRequest, generateRequest, loadApp, type LoadedApp } from "../support/app";
import { numericHash, toTimeBucket, toTotals } from "@/lib/stats/snapshot";

/**
 * Issue 10, "Failure semantics", items 6, 8 and 10, against the suite's
 * Valkey:
 * - a Lua reply error (a WRONGTYPE planted on a limit key) is a 500
 *   `internal_error` with a request id and none of the library's words; it
 *   never counts toward the breaker, and once the key is gone the same
 *   caller is limited and cached as before (item 6);
 * - a request whose cost is larger than the whole limit is told it can never
 *   fit and not to retry, and takes nothing (item 8);
 * - the counters of a request that waited for someone else's generation and
 *   then generated itself land in the decision's 10 s bucket, even when its
 *   wait crosses into the next one; a same-process waiter reads the owner's
 *   generation instead of timing out, and is counted once (item 10).
 */

const opened: LoadedApp[] = [];
afterAll(async () => {
  for (const app of opened) await app.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function open(env: Record<string, string>): Promise<LoadedApp> {
  const app = await loadApp(env);
  opened.push(app);
  return app;
}

/** What a client must never read: ioredis's and Valkey's own words. */
const LIBRARY_TEXT = /WRONGTYPE|ReplyError|ioredis|Operation against a key|ERR |stack|at .*\.ts/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function numbers(app: LoadedApp, key: string): Promise<Record<string, number>> {
  const raw = numericHash(await app.inspect.hgetall(key));
  // The totals hash as /api/stats reads it: requests and allowed are derived (toTotals).
  return key === app.deps.keys.totals(0) ? toTotals(raw) : raw;
}

/** A time bucket as /api/stats reads it (one field per outcome and door, added up by toTimeBucket). */
async function bucketCounts(app: LoadedApp, key: string) {
  return toTimeBucket(0, numericHash(await app.inspect.hgetall(key)));
}

describe("a script error is a 500, not an outage (item 6)", () => {
  it("POST /api/generate: WRONGTYPE on the caller's limit key → 500 internal_error with a request id; the breaker stays closed; then limited and cached as usual", async () => {
    // Threshold 1: a single error counted as an outage would open the breaker.
    const app = await open({ RATE_LIMIT_MAX: "3", FAIL_MODE: "open", BREAKER_THRESHOLD: "1", BREAKER_COOLDOWN_MS: "60000" });
    const ip = "192.0.2.150";
    const limitKey = app.deps.keys.rateLimit(0, `ip:${ip}`);
    await app.inspect.set(limitKey, "a string where the sliding log's sorted set belongs");
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);

    for (let i = 0; i < 3; i++) {
      const res = await app.generate.POST(generateRequest("planted wrongtype", { ip }));
      expect(res.status).toBe(500);
      expect(res.headers.get("x-flowgate-degraded")).toBeNull();
      const text = await res.text();
      expect(text).not.toMatch(LIBRARY_TEXT);
      const body = errorBodySchema.parse(JSON.parse(text));
      expect(body.code).toBe("internal_error");
      expect(String(body.requestId)).toMatch(UUID);
      // Logged with its cause and the same request id.
      const line = logged.mock.calls.find((call) => String(call[0]).includes(String(body.requestId)));
      expect(line, "the 500 is logged with its request id").toBeDefined();
      expect(String((line?.[1] as Error | undefined)?.message)).toMatch(/WRONGTYPE/);
      expect(app.deps.breaker.state()).toBe("closed");
      expect(app.deps.breaker.snapshot().consecutiveFailures).toBe(0);
    }

    await app.inspect.del(limitKey);
    const first = await app.generate.POST(generateRequest("planted wrongtype", { ip }));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("x-flowgate-identity")).toBe(`ip:${ip}`);
    expect(generateResponseSchema.parse(await first.json()).rateLimit?.remaining).toBe(2);
    const second = await app.generate.POST(generateRequest("planted wrongtype", { ip }));
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect((await app.generate.POST(generateRequest("planted wrongtype", { ip }))).status).toBe(200);
    const limited = await app.generate.POST(generateRequest("planted wrongtype", { ip }));
    expect(limited.status).toBe(429);
    expect(rateLimitedBodySchema.parse(await limited.json()).policy).toBe("anonymous");
    expect(await app.inspect.zcard(limitKey)).toBe(3);
    expect(app.deps.breaker.state()).toBe("closed");
  });

  it("POST /v1/chat/completions: the same in OpenAI's shape (server_error, internal_error, x-request-id)", async () => {
    const app = await open({ RATE_LIMIT_MAX: "3", FAIL_MODE: "open", BREAKER_THRESHOLD: "1", BREAKER_COOLDOWN_MS: "60000" });
    const ip = "192.0.2.151";
    const limitKey = app.deps.keys.rateLimit(0, `ip:${ip}`);
    await app.inspect.set(limitKey, "not a sorted set");
    vi.spyOn(console, "error").mockImplementation(() => undefined);

    const res = await app.chat.POST(chatRequest("planted wrongtype, openai door", {}, { ip }));
    expect(res.status).toBe(500);
    expect(res.headers.get("x-flowgate-degraded")).toBeNull();
    expect(res.headers.get("x-request-id")).toMatch(UUID);
    const text = await res.text();
    expect(text).not.toMatch(LIBRARY_TEXT);
    const body = JSON.parse(text) as { error: { message: string; type: string; code: string | null; param: string | null } };
    expect(body.error).toMatchObject({ type: "server_error", code: "internal_error", param: null });
    expect(body.error.message).toBeTruthy();
    expect(app.deps.breaker.state()).toBe("closed");

    await app.inspect.del(limitKey);
    const first = await app.chat.POST(chatRequest("planted wrongtype, openai door", {}, { ip }));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("2");
    const second = await app.chat.POST(chatRequest("planted wrongtype, openai door", {}, { ip }));
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect((await app.chat.POST(chatRequest("planted wrongtype, openai door", {}, { ip }))).status).toBe(200);
    const limited = await app.chat.POST(chatRequest("planted wrongtype, openai door", {}, { ip }));
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    expect(app.deps.breaker.state()).toBe("closed");
  });
});

describe("a request that can never fit (item 8)", () => {
  it("POST /api/generate: 429, x-should-retry: false, 'never fit', and nothing taken from any limit", async () => {
    // 300 tokens per window; the anonymous completion budget alone is 256.
    const app = await open({ RATE_LIMIT_MAX: "5", RATE_LIMIT_TOKENS: "300" });
    const t = bucketStart(Date.now()) + 1_000;
    app.deps.now = () => t;
    const ip = "192.0.2.160";
    const { estimateTokens } = await import("@/lib/gateway/model");
    const long = "a prompt long enough to need more than forty-four tokens of its own. ".repeat(4);
    expect(estimateTokens(long) + 256).toBeGreaterThan(300);

    for (let i = 0; i < 2; i++) {
      const res = await app.generate.POST(generateRequest(long, { ip }));
      expect(res.status).toBe(429);
      expect(res.headers.get("x-should-retry")).toBe("false");
      const body = rateLimitedBodySchema.parse(await res.json());
      expect(body.dimension).toBe("tokens");
      expect(String(body.message)).toMatch(/never fit/);
      expect(String(body.message)).not.toMatch(/Try again in/);
      expect(body.retryable).toBe(false);
      // Untouched: the whole token budget and every request slot are still there.
      expect(body.limits?.find((l) => l.dimension === "tokens")?.remaining).toBe(300);
      expect(body.limits?.find((l) => l.dimension === "requests")?.remaining).toBe(5);
    }
    expect(await app.inspect.exists(app.deps.keys.rateLimit(0, `ip:${ip}`))).toBe(0);

    // A request that fits is the first to take anything.
    const short = "short";
    const ok = await app.generate.POST(generateRequest(short, { ip }));
    expect(ok.status).toBe(200);
    const limits = generateResponseSchema.parse(await ok.json()).rateLimit?.dimensions ?? [];
    expect(limits.find((l) => l.dimension === "requests")?.remaining).toBe(4);
    expect(limits.find((l) => l.dimension === "tokens")?.remaining).toBe(300 - (estimateTokens(short) + 256));
  });
});

describe("counters land in the decision's bucket (item 10)", () => {
  it("a waiter whose wait crosses a 10 s boundary: bucket A gets req, miss and tokens; bucket B gets nothing", async () => {
    const app = await open({ SIMULATED_LATENCY_MS: "0", STAMPEDE_WAIT_MS: "400" });
    const A = bucketStart(Date.now());
    const B = A + BUCKET_MS;
    let clock = A + BUCKET_MS - 50;
    app.deps.now = () => clock;
    const { hashPrompt } = await import("@/lib/gateway/prompt-cache");
    const prompt = "A wait across a bucket boundary";
    // Another instance took the lock and died without storing: this request waits, then generates.
    await app.inspect.set(app.deps.keys.lock(hashPrompt(prompt, "flowgate-sim-1")), "someone-else", "PX", 10_000);
    const bucketA = app.deps.keys.bucket(0, A);
    const bucketB = app.deps.keys.bucket(0, B);

    const pending = app.generate.POST(generateRequest(prompt, { ip: "198.18.9.1" }));
    // The decision is in (bucket A counted it, as a coalesced hit): now cross into bucket B while it waits.
    const deadline = Date.now() + 5_000;
    while ((await bucketCounts(app, bucketA)).requests !== 1) {
      if (Date.now() > deadline) throw new Error("the decision never reached bucket A");
      await new Promise((r) => setTimeout(r, 5));
    }
    clock = B + 1_000;
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
    const body = generateResponseSchema.parse(await res.json());

    const a = await bucketCounts(app, bucketA);
    expect(a).toMatchObject({ requests: 1, allowed: 1, misses: 1, hits: 0 });
    expect(a.tokens).toBe(body.usage.totalTokens);
    expect(await app.inspect.exists(bucketB)).toBe(0);
    // The store did run in bucket B's time (its event carries the store's clock).
    const [[, fields] = ["", []]] = await app.inspect.xrevrange(app.deps.keys.events(0), "+", "-", "COUNT", 1);
    const event = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    expect(event).toMatchObject({ type: "miss", ts: String(B + 1_000) });
    const totals = await numbers(app, app.deps.keys.totals(0));
    expect(totals).toMatchObject({ requests: 1, misses: 1, generations: 1 });
    expect(totals.hits ?? 0).toBe(0);
    expect(totals.coalesced ?? 0).toBe(0);
  });

  it("a same-process waiter for a slow generation reads it instead of timing out: 1 generation, 1 miss, 1 hit, savings counted once", async () => {
    // The model takes longer than a waiter may wait.
    const app = await open({ SIMULATED_LATENCY_MS: "400", STAMPEDE_WAIT_MS: "50" });
    const prompt = "A slow answer two callers want";
    const owner = app.generate.POST(generateRequest(prompt, { ip: "198.18.9.2" }));
    // The second caller comes once the first holds the generation lock (its decision is counted).
    const deadline = Date.now() + 5_000;
    while ((await numbers(app, app.deps.keys.totals(0))).requests !== 1) {
      if (Date.now() > deadline) throw new Error("the owner's decision never arrived");
      await new Promise((r) => setTimeout(r, 5));
    }
    const waiter = app.generate.POST(generateRequest(prompt, { ip: "198.18.9.3" }));
    const [first, second] = await Promise.all([owner, waiter]);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect(second.headers.get("x-cache")).toBe("HIT");
    const a = generateResponseSchema.parse(await first.json());
    const b = generateResponseSchema.parse(await second.json());
    expect(b.response).toBe(a.response);
    const totals = await numbers(app, app.deps.keys.totals(0));
    expect(totals).toMatchObject({ requests: 2, generations: 1, misses: 1, hits: 1, coalesced: 1 });
    expect(totals.tokens_saved).toBe(a.usage.totalTokens);
  });
});
