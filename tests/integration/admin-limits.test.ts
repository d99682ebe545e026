import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBodySchema, limitsResetSchema, limitsResponseSchema } from "@/lib/schemas";
import { adminRequest, generateRequest, limitsContext, loadApp, type LoadedApp } from "../support/app";

/** GET/DELETE /api/limits/{identity}: remaining quota without consuming, reset, and their auth. */

const TOKEN = "admin-token-for-tests-0123456789";
let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp({ ADMIN_TOKEN: TOKEN, RATE_LIMIT_MAX: "10", RATE_LIMIT_WINDOW_MS: "60000" });
});
afterAll(async () => {
  delete process.env.ADMIN_TOKEN;
  await app.close();
});

const get = (identity: string, token?: string) => app.limits.GET(adminRequest(identity, { token }), limitsContext(identity));
const del = (identity: string, token?: string) =>
  app.limits.DELETE(adminRequest(identity, { token, method: "DELETE" }), limitsContext(identity));

describe("admin auth", () => {
  it("401 without a token, 403 with a wrong one, for both methods", async () => {
    for (const call of [get, del]) {
      const none = await call("ip:192.0.2.1");
      expect(none.status).toBe(401);
      expect(errorBodySchema.parse(await none.json()).code).toBe("unauthorized");
      const wrong = await call("ip:192.0.2.1", "not-the-admin-token-at-all");
      expect(wrong.status).toBe(403);
      expect(errorBodySchema.parse(await wrong.json()).code).toBe("forbidden");
    }
  });

  it("404 for an identity that is malformed, a raw key, or an unconfigured key hash", async () => {
    for (const identity of ["nobody", "key:demo-pro-key", "key:000000000000", "sim:gold:1", "ip:not-an-ip"]) {
      const res = await get(identity, TOKEN);
      expect(res.status, identity).toBe(404);
      expect(errorBodySchema.parse(await res.json()).code).toBe("not_found");
    }
  });

  it("answers 403 admin_disabled when ADMIN_TOKEN is not set", async () => {
    delete process.env.ADMIN_TOKEN;
    const disabled = await loadApp({ VALKEY_PREFIX: app.prefix });
    try {
      const res = await disabled.limits.GET(adminRequest("ip:192.0.2.1", { token: TOKEN }), limitsContext("ip:192.0.2.1"));
      expect(res.status).toBe(403);
      const body = errorBodySchema.parse(await res.json());
      expect(body.code).toBe("admin_disabled");
      expect(body.error).toContain("ADMIN_TOKEN");
    } finally {
      await disabled.close();
      app = await loadApp({ VALKEY_PREFIX: app.prefix, ADMIN_TOKEN: TOKEN });
    }
  });
});

describe("GET and DELETE /api/limits/{identity}", () => {
  it("shows what is left without consuming, then resets it", async () => {
    const ip = "192.0.2.30";
    for (let i = 0; i < 3; i++) await app.generate.POST(generateRequest(`admin ${i}`, { ip }));
    const first = limitsResponseSchema.parse(await (await get(`ip:${ip}`, TOKEN)).json());
    expect(first).toMatchObject({ identity: `ip:${ip}`, tier: "anonymous", failMode: "open" });
    expect(first.limits).toEqual([
      expect.objectContaining({ policy: "anonymous", dimension: "requests", algorithm: "sliding-log", limit: 10, remaining: 7, used: 3 }),
    ]);
    // Looking is free.
    const again = limitsResponseSchema.parse(await (await get(`ip:${ip}`, TOKEN)).json());
    expect(again.limits[0]?.remaining).toBe(7);
    expect(await app.inspect.zcard(`${app.prefix}{0}:rl:ip:${ip}`)).toBe(3);

    const reset = limitsResetSchema.parse(await (await del(`ip:${ip}`, TOKEN)).json());
    expect(reset).toMatchObject({ identity: `ip:${ip}`, reset: true, deletedKeys: 1 });
    const after = limitsResponseSchema.parse(await (await get(`ip:${ip}`, TOKEN)).json());
    expect(after.limits[0]).toMatchObject({ remaining: 10, used: 0 });
  });

  it("covers every dimension of an API key's plan, addressed by its hash only", async () => {
    // A fixed clock: the token bucket refills a token every 3 ms in real time.
    const now = Date.now();
    app.deps.now = () => now;
    const res = await app.generate.POST(generateRequest("hello", { headers: { authorization: "Bearer demo-free-key" } }));
    const identity = res.headers.get("x-flowgate-identity")!;
    expect(identity).toMatch(/^key:[0-9a-f]{12}$/);
    // The request reserved 2 prompt tokens + the plan's 512, then was settled to what it really used.
    const { usage } = (await res.json()) as { usage: { totalTokens: number } };
    const view = limitsResponseSchema.parse(await (await get(identity, TOKEN)).json());
    expect(view.tier).toBe("free");
    expect(view.limits.map((l) => [l.policy, l.limit - l.remaining])).toEqual([
      ["free", 1],
      ["free-tokens", usage.totalTokens],
      ["free-daily", 1],
    ]);
    const reset = limitsResetSchema.parse(await (await del(identity, TOKEN)).json());
    expect(reset.deletedKeys).toBe(3);
    const after = limitsResponseSchema.parse(await (await get(identity, TOKEN)).json());
    expect(after.limits.every((l) => l.remaining === l.limit)).toBe(true);
  });
});
