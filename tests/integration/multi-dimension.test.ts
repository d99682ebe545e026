import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateResponseSchema, rateLimitedBodySchema } from "@/lib/schemas";
import { chatRequest, generateRequest, loadApp, type LoadedApp } from "../support/app";

/**
 * Requests and tokens checked in one atomic call: a request refused by one
 * dimension consumes nothing from the other, and under 1,000 concurrent
 * requests every limit holds exactly. The clock is fixed, so buckets do not
 * refill during a test. A request reserves its estimated prompt tokens plus
 * its completion budget, and its answer gives back what it did not use: so
 * sequential requests are charged their real usage, read from each body.
 */

let app: LoadedApp;
const W = 60_000;
// 12:00 UTC on a day, aligned to the window.
const NOON = Math.floor(1_800_000_000_000 / 86_400_000) * 86_400_000 + 43_200_000;
let clock = NOON;

// "hi": 1 prompt token + the anonymous completion budget of 256.
const SMALL = "hi";
const SMALL_COST = 257;
/** Distinct prompts of the same size (and so the same cost). */
const small = (tag: string | number) => String(tag).padStart(4, "h");
/** 4,000 characters: 1,000 prompt tokens, so the token limit binds before the request limit. */
const huge = (tag: string | number) => String(tag).padStart(4000, "x");
/** Tokens an answered request was charged in the end: its real usage. */
async function usedBy(res: Response): Promise<number> {
  return generateResponseSchema.parse(await res.clone().json()).usage.totalTokens;
}

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "30", RATE_LIMIT_WINDOW_MS: String(W), RATE_LIMIT_TOKENS: String(40 * SMALL_COST) });
  app.deps.now = () => clock;
});
afterAll(() => app.close());

const tokenKey = (ip: string) => `${app.prefix}{0}:rl:tokens.token-bucket:ip:${ip}`;
const requestKey = (ip: string) => `${app.prefix}{0}:rl:ip:${ip}`;
/** Whole tokens left in the caller's bucket, read from its scaled level. */
async function tokensLeft(ip: string): Promise<number> {
  const level = await app.inspect.hget(tokenKey(ip), "lvl");
  return level === null ? 40 * SMALL_COST : Math.floor(Number(level) / W);
}

describe("requests and tokens, all or nothing", () => {
  it("a request refused by its token limit takes nothing from the request limit", async () => {
    const ip = "203.0.113.20";
    // Each huge request reserves 1,000 + 256 tokens and is charged its real usage
    // (1,000 + its completion); after nine, fewer than 1,256 of 10,280 are left.
    let used = 0;
    for (let i = 0; i < 9; i++) {
      const res = await app.generate.POST(generateRequest(huge(i), { ip }));
      expect(res.status).toBe(200);
      used += await usedBy(res);
    }
    expect(await tokensLeft(ip)).toBe(40 * SMALL_COST - used);
    const left = 40 * SMALL_COST - used;
    expect(left).toBeLessThan(1256);
    const refused = await app.generate.POST(generateRequest(huge("!"), { ip }));
    expect(refused.status).toBe(429);
    const body = rateLimitedBodySchema.parse(await refused.json());
    expect(body).toMatchObject({ policy: "anonymous-tokens", dimension: "tokens", limit: 40 * SMALL_COST });
    expect(body.message).toContain("needs 1256 tokens");
    // Tokens come back at 10,280 per minute.
    expect(body.retryAfterSeconds).toBe(Math.ceil(Math.ceil(((1256 - left) * W) / (40 * SMALL_COST)) / 1000));
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("21");
    expect(refused.headers.get("x-ratelimit-remaining-tokens")).toBe(String(left));
    expect(await app.inspect.zcard(requestKey(ip))).toBe(9);
    expect(await tokensLeft(ip)).toBe(left);
    const limits = body.limits!;
    expect(limits.map((l) => [l.policy, l.remaining])).toEqual([["anonymous", 21], ["anonymous-tokens", left]]);
  });

  it("a request refused by its request limit takes no tokens", async () => {
    const ip = "203.0.113.21";
    let used = 0;
    for (let i = 0; i < 30; i++) {
      const res = await app.generate.POST(generateRequest(small(i), { ip }));
      expect(res.status).toBe(200);
      used += await usedBy(res);
    }
    const before = await tokensLeft(ip);
    expect(before).toBe(40 * SMALL_COST - used);
    const refused = await app.generate.POST(generateRequest(SMALL, { ip }));
    expect(refused.status).toBe(429);
    expect(rateLimitedBodySchema.parse(await refused.json())).toMatchObject({ policy: "anonymous", dimension: "requests" });
    expect(await tokensLeft(ip)).toBe(before);
    expect(await app.inspect.zcard(requestKey(ip))).toBe(30);
  });

  it("keeps both limits exact under 1,000 concurrent requests, whichever binds", async () => {
    // Requests bind: 30 × 257 tokens fit in 10,280. One prompt: one generation
    // pays tokens, the 29 requests that share its answer pay none.
    const a = "203.0.113.30";
    const ra = await Promise.all(Array.from({ length: 1000 }, () => app.generate.POST(generateRequest(SMALL, { ip: a }))));
    const admitted = ra.filter((r) => r.status === 200);
    expect(admitted).toHaveLength(30);
    expect(await app.inspect.zcard(requestKey(a))).toBe(30);
    const miss = admitted.find((r) => r.headers.get("x-cache") === "MISS")!;
    expect(await tokensLeft(a)).toBe(40 * SMALL_COST - (await usedBy(miss)));

    // Tokens bind: 2,048 characters = 512 prompt tokens + max_tokens 1 = 513
    // reserved, and charged in full (the simulator stops at max_tokens), so
    // 10,280 / 513 → 20 admitted, under the 30 requests, however they interleave.
    const b = "203.0.113.31";
    const rb = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => app.chat.POST(chatRequest(String(i).padStart(2048, "x"), { max_tokens: 1 }, { ip: b }))),
    );
    expect(rb.filter((r) => r.status === 200)).toHaveLength(20);
    const types = new Set(await Promise.all(rb.filter((r) => r.status === 429).map(async (r) => ((await r.json()) as { error: { type: string } }).error.type)));
    expect(types).toEqual(new Set(["tokens"]));
    expect(await app.inspect.zcard(requestKey(b))).toBe(20);
    expect(await tokensLeft(b)).toBe(40 * SMALL_COST - 20 * 513);
  });

  it("refills tokens with time and admits again", async () => {
    const ip = "203.0.113.20";
    expect((await app.generate.POST(generateRequest(huge("again"), { ip }))).status).toBe(429);
    // The bucket refills 10,280 tokens a minute: wait exactly as long as the missing ones take.
    const missing = 1256 - (await tokensLeft(ip));
    clock = NOON + Math.ceil((missing * W) / (40 * SMALL_COST));
    const res = await app.generate.POST(generateRequest(huge("again"), { ip }));
    expect(res.status).toBe(200);
  });
});

describe("headers for every dimension", () => {
  it("a free key gets one IETF item and the OpenAI pair per dimension", async () => {
    clock = NOON;
    const res = await app.generate.POST(generateRequest("What is Valkey?", { headers: { authorization: "Bearer demo-free-key" } }));
    expect(res.status).toBe(200);
    // "What is Valkey?" is 15 characters → 4 prompt tokens + the free plan's 512.
    const cost = 4 + 512;
    const h = (name: string) => res.headers.get(name);
    expect(h("ratelimit-policy")).toBe('"free";q=30;w=60, "free-tokens";q=20000;w=60, "free-daily";q=1000;w=86400');
    expect(h("ratelimit")).toBe(`"free";r=29;t=60, "free-tokens";r=${20000 - cost};t=1, "free-daily";r=999;t=43200`);
    expect(h("x-ratelimit-limit")).toBe("30");
    expect(h("x-ratelimit-remaining")).toBe("29");
    expect(h("x-ratelimit-limit-requests")).toBe("30");
    expect(h("x-ratelimit-remaining-requests")).toBe("29");
    expect(h("x-ratelimit-reset-requests")).toBe("1m0s");
    expect(h("x-ratelimit-limit-tokens")).toBe("20000");
    expect(h("x-ratelimit-remaining-tokens")).toBe(String(20000 - cost));
    // The next whole token is back in 60000 / 20000 = 3 ms.
    expect(h("x-ratelimit-reset-tokens")).toBe("3ms");
    const body = generateResponseSchema.parse(await res.json());
    expect(body.rateLimit?.dimensions?.map((d) => d.algorithm)).toEqual(["sliding-log", "token-bucket", "fixed-window"]);
  });

  it("the anonymous plan without a token limit keeps the single TokenFlow policy and has no token headers", async () => {
    const plain = await loadApp({ RATE_LIMIT_MAX: "10", RATE_LIMIT_WINDOW_MS: "60000", RATE_LIMIT_TOKENS: "0" });
    try {
      const res = await plain.generate.POST(generateRequest("hello", { ip: "203.0.113.40" }));
      expect(res.headers.get("ratelimit-policy")).toBe('"anonymous";q=10;w=60');
      expect(res.headers.get("x-ratelimit-limit-requests")).toBe("10");
      expect(res.headers.get("x-ratelimit-limit-tokens")).toBeNull();
    } finally {
      await plain.close();
      app = await loadApp({ VALKEY_PREFIX: app.prefix, RATE_LIMIT_TOKENS: String(40 * SMALL_COST), RATE_LIMIT_MAX: "30" });
      app.deps.now = () => clock;
    }
  });
});
