import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRequest, loadApp } from "../support/app";
import { createValkeyClient } from "@/lib/valkey/client";
import { ALGORITHM_COMMAND } from "@/lib/valkey/scripts";
import type { Algorithm } from "@/lib/tiers";

/**
 * Two app instances whose clocks are 2 s apart share one key: instance A
 * passes the true time, instance B the time 2 s earlier, alternately. The
 * window-based algorithms must keep the newest window (a caller behind
 * counts in it) rather than roll it back and lose its count.
 */

let client: Redis;
const prefix = `t${randomBytes(4).toString("hex")}:skew:`;
// A window boundary: a multiple of the window used below.
const T0 = 1_800_000_000_000;
const SKEW_MS = 2000;
const LIMIT = 10;
const WINDOW_MS = 10_000;

beforeAll(async () => {
  client = createValkeyClient(process.env.VALKEY_URL as string, { connectTimeoutMs: 2000, commandTimeoutMs: 2000, logErrors: false });
  if (client.status !== "ready") await new Promise((resolve) => client.once("ready", resolve));
});
afterAll(() => client.disconnect());

let seq = 0;
function sharedKey(algorithm: Algorithm) {
  const key = `${prefix}${algorithm}:${seq++}`;
  return {
    key,
    /** One request from the instance whose clock reads `now`. */
    call: async (now: number) => {
      const [allowed] = await client[ALGORITHM_COMMAND[algorithm]](key, now, LIMIT, WINDOW_MS, 1, `m${seq++}`, 1000, "1");
      return allowed === 1;
    },
  };
}

/** Real times of a steady stream, each sent by A (true clock) and B (2 s behind) in turn. */
function alternating(from: number, to: number, stepMs: number): { now: number; instance: "A" | "B" }[] {
  const out: { now: number; instance: "A" | "B" }[] = [];
  for (let t = from, i = 0; t < to; t += stepMs, i++) {
    out.push(i % 2 === 0 ? { now: t, instance: "A" } : { now: t - SKEW_MS, instance: "B" });
  }
  return out;
}

describe("two instances with clocks 2 s apart", () => {
  it.each(["fixed-window", "sliding-counter"] as const)(
    "%s: a burst just after a boundary admits the limit once, and the window never rolls back",
    async (algorithm) => {
      const l = sharedKey(algorithm);
      // 40 requests within 2 s of real time, just after A's clock crossed into
      // window 1 while B's still reads window 0.
      let admitted = 0;
      const windows: number[] = [];
      for (const { now } of alternating(T0 + WINDOW_MS, T0 + WINDOW_MS + 2000, 50)) {
        if (await l.call(now)) admitted++;
        windows.push(Number(await client.hget(l.key, "w")));
      }
      expect(admitted).toBe(LIMIT);
      expect(windows).toEqual(Array(windows.length).fill(T0 / WINDOW_MS + 1));
    },
  );

  it.each(["fixed-window", "sliding-counter"] as const)(
    "%s: over four windows the stored count is every admit of its window, none over the limit",
    async (algorithm) => {
      const l = sharedKey(algorithm);
      const field = algorithm === "fixed-window" ? "n" : "cur";
      const admittedIn = new Map<number, number>();
      let last = -Infinity;
      for (const { now } of alternating(T0 + 500, T0 + 4 * WINDOW_MS, 100)) {
        const allowed = await l.call(now);
        const [w, count] = (await client.hmget(l.key, "w", field)).map(Number) as [number, number];
        // The window index only moves forward.
        expect(w).toBeGreaterThanOrEqual(last);
        last = w;
        if (allowed) admittedIn.set(w, (admittedIn.get(w) ?? 0) + 1);
        // No admit is lost: the stored count is exactly what its window admitted.
        expect(count).toBe(admittedIn.get(w) ?? 0);
      }
      expect([...admittedIn.keys()]).toEqual([0, 1, 2, 3].map((i) => T0 / WINDOW_MS + i));
      for (const n of admittedIn.values()) expect(n).toBeLessThanOrEqual(LIMIT);
      // Demand (10 a second) far exceeds the limit, so the fixed window fills each one.
      if (algorithm === "fixed-window") expect([...admittedIn.values()]).toEqual([LIMIT, LIMIT, LIMIT, LIMIT]);
    },
  );

  it("token-bucket: the behind clock never moves the bucket's time back or refills it", async () => {
    const l = sharedKey("token-bucket");
    let admitted = 0;
    let last = -Infinity;
    const from = T0 + WINDOW_MS;
    const to = from + 2000;
    for (const { now } of alternating(from, to, 50)) {
      if (await l.call(now)) admitted++;
      const ts = Number(await client.hget(l.key, "ts"));
      expect(ts).toBeGreaterThanOrEqual(last);
      last = ts;
    }
    // A full bucket plus what A's clock refills over the run (1 a second), nothing for B.
    expect(admitted).toBeLessThanOrEqual(LIMIT + Math.floor(((to - from) * LIMIT) / WINDOW_MS));
  });
});

describe("through the gateway, two clocks 2 s apart on one identity", () => {
  it.each(["fixed-window", "sliding-counter"] as const)("%s: admits the limit once in a window, not once per clock", async (algorithm) => {
    const app = await loadApp({ RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_MS: String(WINDOW_MS), RATE_LIMIT_ALGORITHM: algorithm });
    try {
      let i = 0;
      let admitted = 0;
      for (const { now } of alternating(T0 + WINDOW_MS, T0 + WINDOW_MS + 2000, 50)) {
        app.deps.now = () => now;
        const res = await app.generate.POST(generateRequest(`skew ${algorithm} ${i++}`, { ip: "192.0.2.120" }));
        if (res.status === 200) admitted++;
        else expect(res.status).toBe(429);
      }
      expect(admitted).toBe(LIMIT);
    } finally {
      await app.close();
    }
  });
});
