import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateResponseSchema, rateLimitedBodySchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";

/** The clock is an argument of decide.lua, so the window is tested at exact instants. */

let app: LoadedApp;
let clock = 1_800_000_000_000;

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "2", RATE_LIMIT_WINDOW_MS: "1000" });
  app.deps.now = () => clock;
});
afterAll(() => app.close());

const ip = "192.0.2.50";
const send = async (prompt = "slide") => app.generate.POST(generateRequest(prompt, { ip }));

describe("sliding window", () => {
  it("frees a slot exactly when the oldest request leaves the window", async () => {
    const t0 = clock;
    expect((await send()).status).toBe(200); // at t0
    clock = t0 + 400;
    const second = await send();
    expect(second.status).toBe(200);
    expect(generateResponseSchema.parse(await second.json()).rateLimit).toMatchObject({ remaining: 0, resetAt: t0 + 1000 });

    clock = t0 + 999;
    const blocked = await send();
    expect(blocked.status).toBe(429);
    const body = rateLimitedBodySchema.parse(await blocked.json());
    expect(body.retryAfterSeconds).toBe(1);
    expect(blocked.headers.get("x-ratelimit-reset")).toBe(String(Math.ceil((t0 + 1000) / 1000)));

    // At t0 + 1000 the first request is exactly one window old: out.
    clock = t0 + 1000;
    expect((await send()).status).toBe(200);
    // The second (t0 + 400) is still in: full again.
    clock = t0 + 1399;
    expect((await send()).status).toBe(429);
    clock = t0 + 1400;
    expect((await send()).status).toBe(200);
  });

  it("never admits more than the limit in any window, whatever the spacing", async () => {
    const start = clock + 10_000;
    const admitted: number[] = [];
    for (let i = 0; i < 60; i++) {
      clock = start + i * 97; // not a divisor of the window
      const res = await app.generate.POST(generateRequest("dense", { ip: "192.0.2.51" }));
      if (res.status === 200) admitted.push(clock);
    }
    for (const t of admitted) {
      const inWindow = admitted.filter((a) => a > t - 1000 && a <= t).length;
      expect(inWindow).toBeLessThanOrEqual(2);
    }
    // And it is not stingy: over 60 × 97 ms ≈ 5.8 windows, close to 2 per window get through.
    expect(admitted.length).toBeGreaterThanOrEqual(11);
  });
});
