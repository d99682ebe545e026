import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { generateResponseSchema } from "@/lib/schemas";
import { createValkeyClient } from "@/lib/valkey/client";
import { statsSchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";
import { numericHash, toTotals } from "@/lib/stats/snapshot";

/**
 * No cache stampede: 50 simultaneous identical new prompts run one
 * generation and get one answer, within one app instance and across two
 * (two module graphs, each with its own in-process coalescing map and its
 * own Valkey connection, sharing the server and the key prefix).
 */

const opened: LoadedApp[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const a of opened) await a.close();
});

async function totals(app: LoadedApp): Promise<Record<string, number>> {
  // Read as /api/stats reads it: requests and allowed are derived (toTotals).
  return toTotals(numericHash(await app.inspect.hgetall(`${app.prefix}{0}:stats`)));
}

async function burst(apps: LoadedApp[], prompt: string, n: number) {
  const responses = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      (apps[i % apps.length] as LoadedApp).generate.POST(generateRequest(prompt, { ip: `198.18.7.${i + 1}` })),
    ),
  );
  const bodies = await Promise.all(responses.map(async (r) => generateResponseSchema.parse(await r.json())));
  return { responses, bodies };
}

describe("cache stampede", () => {
  it("50 simultaneous identical new prompts in one instance: 1 generation, 50 identical answers, 49 hits", async () => {
    const app = await loadApp({ SIMULATED_LATENCY_MS: "200" });
    opened.push(app);
    const latencyBefore = statsSchema.parse(await (await app.stats.GET()).json()).latency;
    const { responses, bodies } = await burst([app], "A stampede of identical prompts", 50);
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(bodies.map((b) => b.response)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get("x-cache") === "MISS")).toHaveLength(1);
    expect(responses.filter((r) => r.headers.get("x-cache") === "HIT")).toHaveLength(49);
    const t = await totals(app);
    expect(t).toMatchObject({ generations: 1, misses: 1, hits: 49, allowed: 50 });
    // The 49 that shared the one generation saved its tokens and its time, each.
    expect(t.tokens_saved).toBe(49 * bodies[0]!.usage.totalTokens);
    expect(t.time_saved_ms).toBe(49 * t.generation_ms!);
    // All but the owner arrived while it was generating: they waited for its answer.
    expect(t.coalesced).toBe(49);
    expect(bodies.filter((b) => b.coalesced)).toHaveLength(49);
    // Their wait is not a cache hit's latency: the dashboard's "hit vs miss" leaves them out.
    const latencyAfter = statsSchema.parse(await (await app.stats.GET()).json()).latency;
    expect(latencyAfter.hit.count).toBe(latencyBefore.hit.count);
    expect(latencyAfter.miss.count).toBe(Math.min(500, latencyBefore.miss.count + 1));
    // The lock is gone once the answer is stored.
    const { hashPrompt } = await import("@/lib/gateway/prompt-cache");
    expect(await app.inspect.exists(`${app.prefix}lock:{${hashPrompt("A stampede of identical prompts", "flowgate-sim-1")}}`)).toBe(0);
    await app.close();
  });

  it("across two app instances: still 1 generation and 1 answer", async () => {
    const a = await loadApp({ SIMULATED_LATENCY_MS: "200" });
    const b = await loadApp({ SIMULATED_LATENCY_MS: "200", VALKEY_PREFIX: a.prefix });
    opened.push(a, b);
    // Instance B gets a connection of its own, as a second process would have.
    const own = createValkeyClient(process.env.VALKEY_URL as string, { connectTimeoutMs: 2000, commandTimeoutMs: 2000, logErrors: false });
    clients.push(own);
    await new Promise((resolve) => (own.status === "ready" ? resolve(null) : own.once("ready", resolve)));
    b.deps.valkey = async () => own;

    const { responses, bodies } = await burst([a, b], "Two instances, one generation", 50);
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(bodies.map((x) => x.response)).size).toBe(1);
    const t = await totals(a);
    expect(t).toMatchObject({ generations: 1, misses: 1, hits: 49 });
    expect(responses.filter((r) => r.headers.get("x-cache") === "HIT")).toHaveLength(49);
  });

  it("a waiter whose wait runs out generates itself, keeps the first cached text, and is counted as a miss", async () => {
    const app = await loadApp({ SIMULATED_LATENCY_MS: "0", STAMPEDE_WAIT_MS: "50" });
    opened.push(app);
    const { hashPrompt } = await import("@/lib/gateway/prompt-cache");
    const hash = hashPrompt("An orphaned lock", "flowgate-sim-1");
    // Another instance took the lock and died without storing.
    await app.inspect.set(`${app.prefix}lock:{${hash}}`, "someone-else", "PX", 10_000);
    const res = await app.generate.POST(generateRequest("An orphaned lock", { ip: "198.18.8.1" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
    const t = await totals(app);
    expect(t).toMatchObject({ generations: 1, misses: 1, hits: 0, coalesced: 0 });
    // The other instance's lock is not ours to release.
    expect(await app.inspect.get(`${app.prefix}lock:{${hash}}`)).toBe("someone-else");
  });

  it("a waiter takes over the lock of an owner that died, as soon as it expires, instead of waiting out STAMPEDE_WAIT_MS", async () => {
    const app = await loadApp({ SIMULATED_LATENCY_MS: "0", STAMPEDE_WAIT_MS: "20000" });
    opened.push(app);
    const { hashPrompt } = await import("@/lib/gateway/prompt-cache");
    const hash = hashPrompt("An owner that died", "flowgate-sim-1");
    // Its owner took the lock and died: nobody renews it, so it expires in 300 ms.
    await app.inspect.set(`${app.prefix}lock:{${hash}}`, "a-dead-owner", "PX", 300);
    const started = performance.now();
    const res = await app.generate.POST(generateRequest("An owner that died", { ip: "198.18.8.2" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await totals(app)).toMatchObject({ generations: 1, misses: 1, hits: 0 });
    // It stored under the lock it took, and gave it back.
    expect(await app.inspect.exists(`${app.prefix}lock:{${hash}}`)).toBe(0);
    expect((await app.generate.POST(generateRequest("An owner that died", { ip: "198.18.8.2" }))).headers.get("x-cache")).toBe("HIT");
  });
});
