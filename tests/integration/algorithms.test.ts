import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createValkeyClient } from "@/lib/valkey/client";
import { ALGORITHM_COMMAND } from "@/lib/valkey/scripts";
import type { Algorithm } from "@/lib/tiers";

/**
 * Each limiter algorithm, standalone, against the real server with the
 * clock passed in: exact admits at and across window boundaries.
 */

let client: Redis;
const prefix = `t${randomBytes(4).toString("hex")}:alg:`;
// A window boundary: a multiple of every window used below.
const T0 = 1_800_000_000_000;

beforeAll(async () => {
  client = createValkeyClient(process.env.VALKEY_URL as string, { connectTimeoutMs: 2000, commandTimeoutMs: 2000, logErrors: false });
  if (client.status !== "ready") await new Promise((resolve) => client.once("ready", resolve));
});
afterAll(() => client.disconnect());

interface Reply { allowed: boolean; limit: number; remaining: number; resetAt: number; retryAfter: number }

let seq = 0;
function limiter(algorithm: Algorithm, limit: number, windowMs: number) {
  const key = `${prefix}${algorithm}:${seq++}`;
  const call = async (now: number, cost = 1, consume = true): Promise<Reply> => {
    const [allowed, l, remaining, resetAt, retryAfter] = await client[ALGORITHM_COMMAND[algorithm]](
      key, now, limit, windowMs, cost, `m${seq++}`, 1000, consume ? "1" : "0",
    );
    return { allowed: allowed === 1, limit: l, remaining, resetAt, retryAfter };
  };
  return { key, call, burst: async (now: number, n: number) => {
    let admitted = 0;
    for (let i = 0; i < n; i++) if ((await call(now)).allowed) admitted++;
    return admitted;
  } };
}

describe("sliding-window log", () => {
  it("frees a slot exactly when the oldest request is one window old", async () => {
    const l = limiter("sliding-log", 3, 1000);
    expect((await l.call(T0)).remaining).toBe(2);
    await l.call(T0 + 100);
    const third = await l.call(T0 + 200);
    expect(third).toMatchObject({ allowed: true, remaining: 0, resetAt: T0 + 1000 });
    expect(await l.call(T0 + 999)).toMatchObject({ allowed: false, remaining: 0, retryAfter: 1, resetAt: T0 + 1000 });
    expect((await l.call(T0 + 1000)).allowed).toBe(true);
    expect(await l.call(T0 + 1050)).toMatchObject({ allowed: false, retryAfter: 50 });
  });

  it("never admits more than the limit in any window, across boundaries and bursts", async () => {
    const l = limiter("sliding-log", 5, 1000);
    const admitted: number[] = [];
    // Bursts at the edges of calendar windows plus an uneven trickle.
    const times = [
      ...Array(8).fill(T0 + 990), ...Array(8).fill(T0 + 1000), ...Array(8).fill(T0 + 1990),
      ...Array.from({ length: 60 }, (_, i) => T0 + 2000 + i * 73),
    ];
    for (const t of times) if ((await l.call(t)).allowed) admitted.push(t);
    for (const t of admitted) expect(admitted.filter((a) => a > t - 1000 && a <= t).length).toBeLessThanOrEqual(5);
    expect(admitted.filter((t) => t <= T0 + 1000)).toHaveLength(5);
  });

  it("only looks when asked not to consume", async () => {
    const l = limiter("sliding-log", 2, 1000);
    await l.call(T0);
    expect(await l.call(T0 + 1, 1, false)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await client.zcard(l.key)).toBe(1);
  });
});

describe("fixed window", () => {
  it("resets at the calendar boundary, so a burst across it gets twice the limit through", async () => {
    const l = limiter("fixed-window", 5, 1000);
    expect(await l.burst(T0 + 999, 10)).toBe(5);
    const refused = await l.call(T0 + 999);
    expect(refused).toMatchObject({ allowed: false, retryAfter: 1, resetAt: T0 + 1000 });
    expect(await l.burst(T0 + 1000, 10)).toBe(5);
    // 10 admitted within 1 ms: 2 × the limit in a span far shorter than a window.
    expect(await l.burst(T0 + 1999, 10)).toBe(0);
    expect(await l.burst(T0 + 2000, 1)).toBe(1);
  });
});

describe("token bucket", () => {
  it("admits a full burst, then exactly the refill rate", async () => {
    // 5 per 1000 ms: one unit every 200 ms.
    const l = limiter("token-bucket", 5, 1000);
    expect(await l.burst(T0, 7)).toBe(5);
    expect(await l.call(T0)).toMatchObject({ allowed: false, retryAfter: 200, remaining: 0 });
    expect(await l.call(T0 + 199)).toMatchObject({ allowed: false, retryAfter: 1 });
    expect(await l.call(T0 + 200)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await l.burst(T0 + 200, 1)).toBe(0);
    // 1000 ms later: 5 refilled, but never more than the bucket holds.
    expect(await l.burst(T0 + 1200, 7)).toBe(5);
    expect(await l.burst(T0 + 60_000, 9)).toBe(5);
  });

  it("charges a cost in units and says when that many are back", async () => {
    const l = limiter("token-bucket", 1000, 60_000);
    expect(await l.call(T0, 700)).toMatchObject({ allowed: true, remaining: 300 });
    // 400 more need 100 more units: 100 × 60 ms each.
    expect(await l.call(T0, 400)).toMatchObject({ allowed: false, retryAfter: 6000, remaining: 300 });
    expect((await l.call(T0 + 6000, 400)).allowed).toBe(true);
  });
});

describe("sliding-window counter", () => {
  it("weights the previous window by how much of it still overlaps", async () => {
    const l = limiter("sliding-counter", 10, 1000);
    expect(await l.burst(T0 + 500, 12)).toBe(10);
    // Next window, elapsed 0: the previous 10 weigh fully; 100 ms later 9 of them do.
    expect(await l.call(T0 + 1000)).toMatchObject({ allowed: false, retryAfter: 100 });
    expect(await l.burst(T0 + 1100, 3)).toBe(1);
    // Half-way: 10 × 0.5 + 1 = 6 in the estimate → 4 more.
    expect(await l.burst(T0 + 1500, 6)).toBe(4);
    // Two windows on, everything has decayed.
    expect(await l.burst(T0 + 3000, 12)).toBe(10);
  });

  it("lets through at most a little over the limit across a boundary burst", async () => {
    const l = limiter("sliding-counter", 10, 1000);
    const a = await l.burst(T0 + 999, 20);
    const b = await l.burst(T0 + 1000, 20);
    expect(a).toBe(10);
    expect(b).toBe(0);
  });
});
