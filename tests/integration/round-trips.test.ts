import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatRequest, generateRequest, loadApp, type LoadedApp } from "../support/app";
import { startValkey, type TestValkey } from "../support/valkey-server";

/**
 * Round trips are counted on the server: MONITOR lists every command a client
 * sends, and marks the ones a script runs as "lua". The app never pipelines on
 * the request path, so top-level commands equal round trips.
 */

let valkey: TestValkey;
let app: LoadedApp;
let monitorClient: Redis;
let appAddress = "";
const seen: { source: string; command: string }[] = [];

beforeAll(async () => {
  valkey = await startValkey();
  process.env.VALKEY_URL = valkey.url;
  app = await loadApp({ RATE_LIMIT_MAX: "2" });
  // Warm up: connect and load the scripts (a first EVALSHA may fall back to EVAL).
  await app.generate.POST(generateRequest("warm-up", { ip: "192.0.2.200" }));
  await app.generate.POST(generateRequest("warm-up 2", { ip: "192.0.2.200" }));
  await app.inspect.ping();
  // Only the app's own connection counts (ioredis names it "flowgate").
  const clients = String(await app.inspect.client("LIST")).split("\n");
  const line = clients.find((l) => / name=flowgate( |$)/.test(l));
  appAddress = /addr=(\S+)/.exec(line ?? "")?.[1] ?? "";
  expect(appAddress).not.toBe("");
  monitorClient = new Redis(valkey.url);
  const monitor = await monitorClient.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    seen.push({ source, command: String(args[0]).toLowerCase() });
  });
});

afterAll(async () => {
  monitorClient?.disconnect();
  await app.close();
  await valkey.stop();
});

async function topLevelCommandsOf(action: () => Promise<unknown>): Promise<string[]> {
  // A marker command brackets the action, so late MONITOR lines are not missed.
  const marker = `marker-${Math.random()}`;
  seen.length = 0;
  await action();
  await app.inspect.echo(marker);
  const deadline = Date.now() + 2000;
  while (!seen.some((s) => s.command === "echo") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const idx = seen.findIndex((s) => s.command === "echo");
  return seen.slice(0, idx).filter((s) => s.source === appAddress).map((s) => s.command);
}

describe("round trips per request, counted on the server", () => {
  it("a miss costs 2: decide and store", async () => {
    const commands = await topLevelCommandsOf(() => app.generate.POST(generateRequest("a brand new prompt", { ip: "192.0.2.201" })));
    expect(commands).toEqual(["evalsha", "evalsha"]);
  });

  it("a hit costs 1", async () => {
    const commands = await topLevelCommandsOf(async () => {
      const res = await app.generate.POST(generateRequest("a brand new prompt", { ip: "192.0.2.201" }));
      expect(res.headers.get("x-cache")).toBe("HIT");
    });
    expect(commands).toEqual(["evalsha"]);
  });

  it("a blocked request costs 1", async () => {
    const commands = await topLevelCommandsOf(async () => {
      const res = await app.generate.POST(generateRequest("a brand new prompt", { ip: "192.0.2.201" }));
      expect(res.status).toBe(429);
    });
    expect(commands).toEqual(["evalsha"]);
  });

  it("a coalesced duplicate in the same process costs 1: it awaits the owner's in-flight generation", async () => {
    const commands = await topLevelCommandsOf(async () => {
      const [owner, waiter] = await Promise.all([
        app.generate.POST(generateRequest("two at once", { ip: "192.0.2.202" })),
        app.generate.POST(generateRequest("two at once", { ip: "192.0.2.203" })),
      ]);
      expect(owner.headers.get("x-cache")).toBe("MISS");
      expect(waiter.headers.get("x-cache")).toBe("HIT");
      expect(waiter.headers.get("x-flowgate-coalesced")).toBe("1");
    });
    // Owner: decide + store; waiter: decide only.
    expect(commands).toEqual(["evalsha", "evalsha", "evalsha"]);
  });

  it("on /v1, a streamed miss costs 2, a streamed hit 1, a refusal 1: the same core as /api/generate", async () => {
    const ip = "192.0.2.210";
    const streamed = (content: string) =>
      app.chat.POST(chatRequest(content, { stream: true, stream_options: { include_usage: true } }, { ip })).then(async (res) => {
        await res.text();
        return res;
      });
    const miss = await topLevelCommandsOf(async () => expect((await streamed("a stream for counting")).headers.get("x-cache")).toBe("MISS"));
    expect(miss).toEqual(["evalsha", "evalsha"]);
    const hit = await topLevelCommandsOf(async () => expect((await streamed("a stream for counting")).headers.get("x-cache")).toBe("HIT"));
    expect(hit).toEqual(["evalsha"]);
    const blocked = await topLevelCommandsOf(async () => expect((await streamed("a stream for counting")).status).toBe(429));
    expect(blocked).toEqual(["evalsha"]);
  });

  it("a configured API key costs no extra round trip; a wrong one costs 1, its failure count", async () => {
    const keyed = await topLevelCommandsOf(async () => {
      const res = await app.generate.POST(generateRequest("a brand new prompt", { ip: "192.0.2.204", headers: { authorization: "Bearer demo-pro-key" } }));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cache")).toBe("HIT");
    });
    expect(keyed).toEqual(["evalsha"]);
    // Load the script once (a first EVALSHA may fall back to EVAL), then count.
    // (Bracketed like a measurement, so its MONITOR lines are all in before the count starts.)
    await topLevelCommandsOf(() => app.generate.POST(generateRequest("wrong", { ip: "192.0.2.205", headers: { authorization: "Bearer nope" } })));
    const wrong = await topLevelCommandsOf(async () => {
      const res = await app.generate.POST(generateRequest("wrong", { ip: "192.0.2.205", headers: { authorization: "Bearer nope" } }));
      expect(res.status).toBe(401);
    });
    expect(wrong).toEqual(["evalsha"]);
  });

  it("stats reads a fixed set of keys: no KEYS, no SCAN, and the same commands with more data", async () => {
    const empty = await topLevelCommandsOf(() => app.stats.GET());
    expect(empty).not.toContain("keys");
    expect(empty).not.toContain("scan");
    // Fill the keyspace with 2,000 more windows and cache entries; the stats commands stay the same.
    for (let i = 0; i < 100; i++) await app.generate.POST(generateRequest(`fill ${i}`, { ip: `198.18.${i >> 8}.${i & 255}` }));
    const pipeline = app.inspect.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.set(`${app.prefix}cache:{filler${i}}`, "x", "EX", 60);
    await pipeline.exec();
    const full = await topLevelCommandsOf(() => app.stats.GET());
    expect(full.filter((c) => c !== "zmscore")).toEqual(empty.filter((c) => c !== "zmscore"));
    const stats = (await (await app.stats.GET()).json()) as { cost: { commands: number } };
    expect(stats.cost.commands).toBe(full.length);
  });
});
