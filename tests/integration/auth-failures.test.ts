import { afterAll, describe, expect, it, vi } from "vitest";
import { errorBodySchema, rateLimitedBodySchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";

/** Wrong API keys are counted per client address in Valkey and cost a 429 past a small budget (issue 10, item 2). */

let app: LoadedApp;
afterAll(() => app?.close());

const withKey = (key: string, ip: string, prompt = "guess") => generateRequest(prompt, { ip, headers: { authorization: `Bearer ${key}` } });

describe("guessing API keys", () => {
  it("50 parallel wrong keys from one address: at most the budget get 401, the rest 429; a correct key still works", async () => {
    app = await loadApp({});
    const ip = "203.0.113.60";
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => app.generate.POST(withKey(`guess-${i}`, ip))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);

    const refused = responses.find((r) => r.status === 429)!;
    const body = rateLimitedBodySchema.parse(await refused.json());
    expect(body).toMatchObject({ code: "rate_limited", policy: "auth-failures", limit: 10, windowMs: 60_000, identity: `ip:${ip}` });
    expect(body.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(body.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(Number(refused.headers.get("retry-after"))).toBe(body.retryAfterSeconds);
    const unauthorized = responses.find((r) => r.status === 401)!;
    expect(errorBodySchema.parse(await unauthorized.json()).code).toBe("unauthorized");

    // The right key from the same address is not punished for the guesses.
    const right = await app.generate.POST(withKey("demo-pro-key", ip, "the right key"));
    expect(right.status).toBe(200);
    // Another address has its own budget.
    expect((await app.generate.POST(withKey("guess", "203.0.113.61"))).status).toBe(401);
    // The count is one expiring key per address.
    const ttl = await app.inspect.pttl(app.deps.keys.authFailures(0, `ip:${ip}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("counts by identity, so one IPv6 /64 shares one budget", async () => {
    await app.close();
    app = await loadApp({ AUTH_FAILURES_PER_MINUTE: "2" });
    const statuses = [];
    for (let i = 1; i <= 3; i++) statuses.push((await app.generate.POST(withKey("guess", `2001:db8:77:1::${i}`))).status);
    expect(statuses).toEqual([401, 401, 429]);
  });

  it("is shared by instances on one Valkey", async () => {
    await app.close();
    app = await loadApp({ AUTH_FAILURES_PER_MINUTE: "3" });
    const ip = "203.0.113.62";
    expect((await app.generate.POST(withKey("a", ip))).status).toBe(401);
    expect((await app.generate.POST(withKey("b", ip))).status).toBe(401);
    await app.close();
    app = await loadApp({ AUTH_FAILURES_PER_MINUTE: "3", VALKEY_PREFIX: app.prefix });
    expect((await app.generate.POST(withKey("c", ip))).status).toBe(401);
    expect((await app.generate.POST(withKey("d", ip))).status).toBe(429);
  });

  it("with Valkey unreachable, a wrong key is still a 401 (the count fails open, and says so in the log)", async () => {
    await app.close();
    const url = process.env.VALKEY_URL;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      app = await loadApp({ VALKEY_URL: "redis://127.0.0.1:1", AUTH_FAILURES_PER_MINUTE: "1", LOG_VALKEY_ERRORS: "true" });
      for (let i = 0; i < 3; i++) {
        const res = await app.generate.POST(withKey(`guess-${i}`, "203.0.113.63"));
        expect(res.status).toBe(401);
        expect(errorBodySchema.parse(await res.json()).code).toBe("unauthorized");
      }
      expect(warn.mock.calls.some((call) => String(call[0]).includes("could not count a wrong API key"))).toBe(true);
    } finally {
      warn.mockRestore();
      await app.close();
      Object.assign(process.env, { VALKEY_URL: url, LOG_VALKEY_ERRORS: "false" });
    }
  });
});
