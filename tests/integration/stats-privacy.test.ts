import { afterAll, describe, expect, it } from "vitest";
import { statsSchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";

/** /api/stats shows whole addresses only in the local demo or to the admin (issue 10, item 13). */

const ADMIN_TOKEN = "stats-admin-token-0123456789";
const nodeEnv = process.env.NODE_ENV;
let app: LoadedApp;
afterAll(async () => {
  await app?.close();
  // loadApp wrote NODE_ENV into process.env; give the next file in this worker its own back.
  if (nodeEnv === undefined) Reflect.deleteProperty(process.env, "NODE_ENV");
  else Object.assign(process.env, { NODE_ENV: nodeEnv });
});

const statsRequest = (token?: string) =>
  new Request("http://localhost/api/stats", { headers: token ? { authorization: `Bearer ${token}` } : {} });

async function callers() {
  await app.generate.POST(generateRequest("private 1", { ip: "203.0.113.77" }));
  await app.generate.POST(generateRequest("private 2", { ip: "2001:db8:1:2::5" }));
}

describe("stats privacy", () => {
  it("in production, masks addresses to /24 and /48 without the admin token", async () => {
    app = await loadApp({ NODE_ENV: "production", ADMIN_TOKEN });
    await callers();
    for (const request of [statsRequest(), statsRequest("wrong-token-0123456789"), undefined]) {
      const res = await app.stats.GET(request);
      expect(res.status).toBe(200);
      const text = await res.text();
      const stats = statsSchema.parse(JSON.parse(text));
      expect(stats.rateLimit.topConsumers.map((c) => c.identity).sort()).toEqual(["ip:2001:db8:1::/48", "ip:203.0.113.0/24"]);
      expect(stats.activity.map((e) => e.identity).sort()).toEqual(["ip:2001:db8:1::/48", "ip:203.0.113.0/24"]);
      expect(text).not.toContain("203.0.113.77");
      expect(text).not.toContain("2001:db8:1:2");
    }
  });

  it("in production, shows whole identities to the admin token", async () => {
    const stats = statsSchema.parse(await (await app.stats.GET(statsRequest(ADMIN_TOKEN))).json());
    expect(stats.rateLimit.topConsumers.map((c) => c.identity).sort()).toEqual(["ip:2001:db8:1:2::/64", "ip:203.0.113.77"]);
  });

  it("in the local demo, shows them to everyone", async () => {
    await app.close();
    app = await loadApp({ NODE_ENV: "development" });
    await callers();
    const stats = statsSchema.parse(await (await app.stats.GET(statsRequest())).json());
    expect(stats.activity.map((e) => e.identity).sort()).toEqual(["ip:2001:db8:1:2::/64", "ip:203.0.113.77"]);
  });
});
