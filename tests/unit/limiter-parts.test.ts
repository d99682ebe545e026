import { describe, expect, it } from "vitest";
import { createBreaker, BreakerOpenError } from "@/lib/gateway/breaker";
import { createFallbackLimiter } from "@/lib/gateway/fallback-limiter";
import { formatResetDuration, limitHeaders } from "@/lib/gateway/headers";
import { parseIdentityLabel, hashApiKey } from "@/lib/gateway/identity";
import { costOf, policyFor } from "@/lib/gateway/policy";

const anonymous = { limit: 10, windowMs: 60_000 };

describe("policy", () => {
  it("builds one dimension per limit of the plan, named for headers", () => {
    expect(policyFor("anonymous", anonymous).dimensions.map((d) => d.name)).toEqual(["anonymous"]);
    const free = policyFor("free", anonymous);
    expect(free.dimensions.map((d) => [d.name, d.kind, d.algorithm, d.limit])).toEqual([
      ["free", "requests", "sliding-log", 30],
      ["free-tokens", "tokens", "token-bucket", 20_000],
      ["free-daily", "daily", "fixed-window", 1000],
    ]);
    expect(costOf(free.dimensions[1]!, 100, free)).toBe(100 + 512);
    expect(costOf(free.dimensions[0]!, 100, free)).toBe(1);
  });

  it("lets the environment set the anonymous row and the fail modes", () => {
    const p = policyFor("anonymous", {
      anonymous: { limit: 5, windowMs: 1000, algorithm: "fixed-window", tokens: 900 },
      failMode: "closed",
    });
    expect(p.dimensions.map((d) => [d.name, d.algorithm, d.limit, d.windowMs])).toEqual([
      ["anonymous", "fixed-window", 5, 1000],
      ["anonymous-tokens", "token-bucket", 900, 1000],
    ]);
    expect(p.failMode).toBe("closed");
    expect(policyFor("pro", { anonymous, failMode: "closed", failModeByTier: { pro: "open" } }).failMode).toBe("open");
  });
});

describe("OpenAI-style reset durations", () => {
  it.each([
    [0, "0s"],
    [3, "3ms"],
    [999, "999ms"],
    [1000, "1s"],
    [1500, "1.5s"],
    [59_001, "59.001s"],
    [60_000, "1m0s"],
    [360_000, "6m0s"],
    [90_500, "1m30.5s"],
    [3_723_000, "1h2m3s"],
    [-5, "0s"],
  ])("%i ms → %s", (ms, text) => {
    expect(formatResetDuration(ms)).toBe(text);
  });
});

describe("headers of a multi-dimensional decision", () => {
  const now = 1_700_000_000_000;
  const dims = [
    { name: "free", kind: "requests" as const, limit: 30, remaining: 0, resetAt: now + 12_000, windowMs: 60_000 },
    { name: "free-tokens", kind: "tokens" as const, limit: 20_000, remaining: 19_000, resetAt: now + 3, windowMs: 60_000 },
  ];
  it("lists every dimension in the IETF fields and gives the OpenAI pair per dimension", () => {
    const h = limitHeaders(dims, { allowed: false, retryAfterMs: 12_000 }, now);
    expect(h["RateLimit-Policy"]).toBe('"free";q=30;w=60, "free-tokens";q=20000;w=60');
    expect(h.RateLimit).toBe('"free";r=0;t=12, "free-tokens";r=19000;t=1');
    expect(h["Retry-After"]).toBe("12");
    expect(h["x-ratelimit-reset-requests"]).toBe("12s");
    expect(h["x-ratelimit-remaining-tokens"]).toBe("19000");
    expect(h["x-ratelimit-reset-tokens"]).toBe("3ms");
    expect(h["X-RateLimit-Limit"]).toBe("30");
  });
});

describe("circuit breaker", () => {
  it("opens after N consecutive failures, probes once after the cool-down, and closes on success", async () => {
    let t = 0;
    const states: string[] = [];
    const b = createBreaker({ threshold: 2, cooldownMs: 100, clock: () => t, onStateChange: (s) => states.push(s) });
    const fail = () => b.run(async () => { throw new Error("down"); });
    await expect(fail()).rejects.toThrow("down");
    await expect(b.run(async () => 1)).resolves.toBe(1); // a success resets the count
    await expect(fail()).rejects.toThrow("down");
    expect(b.state()).toBe("closed");
    await expect(fail()).rejects.toThrow("down");
    expect(b.state()).toBe("open");
    let called = false;
    await expect(b.run(async () => (called = true))).rejects.toBeInstanceOf(BreakerOpenError);
    expect(called).toBe(false);

    t = 100;
    expect(b.state()).toBe("half-open");
    // One probe at a time: a second caller during the probe fails fast.
    let release!: () => void;
    const probe = b.run(() => new Promise<string>((resolve) => (release = () => resolve("ok"))));
    await expect(b.run(async () => 1)).rejects.toBeInstanceOf(BreakerOpenError);
    release();
    await expect(probe).resolves.toBe("ok");
    expect(b.state()).toBe("closed");
    expect(states).toEqual(["open", "half-open", "closed"]);
  });

  it("a failed probe opens it for another cool-down", async () => {
    let t = 0;
    const b = createBreaker({ threshold: 1, cooldownMs: 50, clock: () => t });
    await expect(b.run(async () => { throw new Error("x"); })).rejects.toThrow();
    t = 50;
    await expect(b.run(async () => { throw new Error("y"); })).rejects.toThrow("y");
    expect(b.snapshot()).toMatchObject({ state: "open", nextProbeInMs: 50 });
  });
});

describe("fallback limiter", () => {
  it("applies the plan's limits all-or-nothing, per caller, and forgets the least recent callers", () => {
    const limiter = createFallbackLimiter(100);
    const p = policyFor("anonymous", { anonymous: { limit: 3, windowMs: 60_000, tokens: 600 } });
    // 44 prompt tokens + 256 budget = 300 per request: tokens bind after 2.
    const results = [0, 1, 2].map(() => limiter.decide("ip:a", p, 44, 0));
    expect(results.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(results[2]!.refused?.name).toBe("anonymous-tokens");
    // The refused request took no request quota: 3 − 2 admitted.
    expect(results[2]!.dimensions[0]).toMatchObject({ remaining: 1, allowed: true });
    // A request that fits the tokens left (600 − 600 + refill) after 256 × 100 ms is admitted.
    const later = limiter.decide("ip:a", p, 0, (60_000 / 600) * 256);
    expect(later.allowed).toBe(true);
    for (let i = 0; i < 300; i++) limiter.decide(`ip:${i}`, p, 0, 0);
    expect(limiter.size()).toBeLessThanOrEqual(100);
  });
});

describe("fallback limiter under a flood of new identities", () => {
  const MAX = 100; // FALLBACK_MAX_CLIENTS
  const p = policyFor("anonymous", { anonymous: { limit: 3, windowMs: 60_000 } });
  const exhaust = (limiter: ReturnType<typeof createFallbackLimiter>, id: string) => {
    const results = [0, 1, 2, 3].map(() => limiter.decide(id, p, 0, 0).allowed);
    expect(results).toEqual([true, true, true, false]);
  };

  it("a refused caller stays refused after FALLBACK_MAX_CLIENTS new identities pass", () => {
    const limiter = createFallbackLimiter(MAX);
    exhaust(limiter, "ip:abuser");
    for (let i = 0; i < MAX; i++) expect(limiter.decide(`ip:new-${i}`, p, 0, 0).allowed).toBe(true);
    expect(limiter.decide("ip:abuser", p, 0, 0)).toMatchObject({ allowed: false, refused: { name: "anonymous" } });
    // ... and after many times that, retrying all along.
    for (let i = 0; i < 10 * MAX; i++) {
      limiter.decide(`ip:more-${i}`, p, 0, 0);
      if (i % 50 === 0) expect(limiter.decide("ip:abuser", p, 0, 0).allowed).toBe(false);
    }
    expect(limiter.decide("ip:abuser", p, 0, 0).allowed).toBe(false);
    expect(limiter.size()).toBeLessThanOrEqual(MAX);
    // The refill still applies: one window later it has its burst back.
    expect(limiter.decide("ip:abuser", p, 0, 60_000).allowed).toBe(true);
  });

  it("counts callers, not dimensions, against FALLBACK_MAX_CLIENTS", () => {
    const limiter = createFallbackLimiter(MAX);
    const free = policyFor("free", { anonymous: { limit: 3, windowMs: 60_000 } });
    expect(free.dimensions.length).toBeGreaterThan(1);
    for (let i = 0; i < 40; i++) limiter.decide(`key:${i}`, free, 10, 0);
    expect(limiter.size()).toBe(40);
  });

  it("refused callers beyond the protected share push out the least recent refused one, never an unlimited number", () => {
    const limiter = createFallbackLimiter(MAX);
    for (let i = 0; i < MAX; i++) exhaust(limiter, `ip:abuser-${i}`);
    expect(limiter.size()).toBeLessThanOrEqual(MAX);
    // The most recent half are still remembered as refused.
    for (let i = MAX / 2; i < MAX; i++) expect(limiter.decide(`ip:abuser-${i}`, p, 0, 0).allowed).toBe(false);
  });
});

describe("identity labels", () => {
  const apiKeys = [{ key: "demo-pro-key", tier: "pro" as const }];
  it("accepts ip, key-hash and sim labels, never a raw key", () => {
    expect(parseIdentityLabel("ip:203.0.113.9", apiKeys)).toMatchObject({ tier: "anonymous" });
    expect(parseIdentityLabel("ip:::1", apiKeys)).toMatchObject({ id: "ip:::1" });
    expect(parseIdentityLabel(`key:${hashApiKey("demo-pro-key")}`, apiKeys)).toMatchObject({ tier: "pro" });
    expect(parseIdentityLabel("key:demo-pro-key", apiKeys)).toBeNull();
    expect(parseIdentityLabel("sim:free:3", apiKeys)).toMatchObject({ tier: "free" });
    expect(parseIdentityLabel("sim:gold:3", apiKeys)).toBeNull();
  });
});
