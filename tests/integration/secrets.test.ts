import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateRequest, jsonRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";

/** API keys never leave the request: not in Valkey, not in stats, not in logs. */

const SECRET = "sk-flowgate-test-7d1f0c9a2b";
let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp({ API_KEYS: `${SECRET}:pro`, RATE_LIMIT_MAX: "3" });
});
afterAll(() => app.close());

async function everythingStoredUnder(prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const key of await keysUnder(app.inspect, prefix)) {
    parts.push(key);
    const type = await app.inspect.type(key);
    if (type === "string") parts.push(String(await app.inspect.get(key)));
    else if (type === "hash") parts.push(JSON.stringify(await app.inspect.hgetall(key)));
    else if (type === "zset") parts.push(JSON.stringify(await app.inspect.zrange(key, 0, -1, "WITHSCORES")));
    else if (type === "stream") parts.push(JSON.stringify(await app.inspect.xrange(key, "-", "+")));
    else parts.push(`<${type}>`);
  }
  return parts.join("\n");
}

describe("API keys are only ever shown as hashes", () => {
  it("leave no trace in Valkey, the stats, the responses or the logs", async () => {
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      }),
    );
    try {
      const bodies: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await app.generate.POST(generateRequest(`secret ${i % 2}`, { headers: { authorization: `Bearer ${SECRET}` } }));
        bodies.push(await res.text(), JSON.stringify([...res.headers]));
      }
      // A wrong key that contains the real one must not echo either.
      const wrong = await app.generate.POST(generateRequest("x", { headers: { "x-api-key": `${SECRET}-nope` } }));
      bodies.push(await wrong.text());
      await app.simulate.POST(jsonRequest("/api/simulate", { count: 10, tier: "pro" }));
      const stats = await (await app.stats.GET()).text();

      expect(stats).toContain("key:"); // the caller shows up, as a hash
      expect(stats).not.toContain(SECRET);
      for (const body of bodies) expect(body).not.toContain(SECRET);
      expect(await everythingStoredUnder(app.prefix)).not.toContain(SECRET);
      expect(logged.join("\n")).not.toContain(SECRET);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
