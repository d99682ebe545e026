import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "@/lib/gateway/identity";
import { hashPrompt } from "@/lib/gateway/prompt-cache";
import { generateResponseSchema, healthSchema, statsSchema } from "@/lib/schemas";
import { bucketStart, createKeySpace, minuteOf, shardOf, streamCapPerShard } from "@/lib/valkey/keys";
import { adminRequest, generateRequest, limitsContext, loadApp, type LoadedApp } from "../support/app";
import { startValkeyCluster, type TestValkeyCluster } from "../support/valkey-cluster";
import { toTotals } from "@/lib/stats/snapshot";

/**
 * Flowgate on a real three-master Valkey Cluster that this file creates
 * (valkey-server --cluster-enabled yes ×3, valkey-cli --cluster create).
 * Limits stay exact under concurrency, the prompt cache is shared by callers
 * on every shard, stats gather the shards and equal what was sent, every
 * script call stays on one slot, and round trips per request kind are
 * counted on the nodes with MONITOR.
 */

const MODEL = "flowgate-sim-1";
const ADMIN_TOKEN = "cluster-admin-token-0123456789";
const SHARDS = 16;
let cluster: TestValkeyCluster;
let inspect: Cluster;
const opened: LoadedApp[] = [];

beforeAll(async () => {
  cluster = await startValkeyCluster();
  inspect = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })), { lazyConnect: true });
  inspect.on("error", () => {});
  await inspect.connect();
}, 60_000);

afterAll(async () => {
  for (const app of opened) await app.close();
  inspect?.disconnect();
  await cluster?.stop();
});

async function clusterApp(env: Record<string, string> = {}): Promise<LoadedApp> {
  const app = await loadApp({ VALKEY_CLUSTER_NODES: cluster.nodes, ADMIN_TOKEN, ...env });
  opened.push(app);
  return app;
}

/** The totals hash of every shard, summed, read from the cluster directly. */
async function totals(prefix: string): Promise<Record<string, number>> {
  const keys = createKeySpace(prefix);
  const sum: Record<string, number> = {};
  for (let s = 0; s < SHARDS; s++) {
    for (const [k, v] of Object.entries(await inspect.hgetall(keys.totals(s)))) sum[k] = (sum[k] ?? 0) + Number(v);
  }
  // As /api/stats reads it: requests and allowed are derived (toTotals).
  return toTotals(sum);
}

/** IPs whose identities land on pairwise different shards. */
function ipsOnDistinctShards(n: number, base = "198.51.100"): string[] {
  const out: string[] = [];
  const used = new Set<number>();
  for (let i = 1; out.length < n && i < 255; i++) {
    const ip = `${base}.${i}`;
    const shard = shardOf(`ip:${ip}`, SHARDS);
    if (!used.has(shard)) {
      used.add(shard);
      out.push(ip);
    }
  }
  return out;
}

const keySlot = async (key: string) => Number(await inspect.cluster("KEYSLOT", key));

describe("on a three-master Valkey Cluster", () => {
  it("connects in cluster mode: health ok, 16 shards by default, stats from every master, the lab runs", async () => {
    const app = await clusterApp();
    expect(app.deps.config.VALKEY_SHARDS).toBe(SHARDS);
    const health = healthSchema.parse(await (await app.health.GET()).json());
    expect(health.status).toBe("ok");
    const stats = statsSchema.parse(await (await app.stats.GET()).json());
    expect(stats.connected).toBe(true);
    expect(stats.valkey?.mode).toBe("cluster");
    // One pipeline per shard plus INFO and DBSIZE on each of the three masters; no KEYS, no SCAN.
    expect(stats.cost.roundTrips).toBeLessThanOrEqual(2);
    expect(stats.valkey?.connectedClients).toBeGreaterThanOrEqual(3);
    // The algorithm lab's keys share their run's tag; MEMORY USAGE finds the right node.
    const lab = await app.lab.GET(new Request("http://localhost/api/lab?limit=5&windowMs=1000"));
    expect(lab.status).toBe(200);
    const run = (await lab.json()) as { algorithms: { memoryBytes: number }[] };
    expect(run.algorithms).toHaveLength(4);
    for (const algorithm of run.algorithms) expect(algorithm.memoryBytes).toBeGreaterThan(0);
  });

  it("1,000 concurrent requests from one identity with limit 10: exactly 10 through", async () => {
    const app = await clusterApp({ RATE_LIMIT_MAX: "10" });
    const ip = "192.0.2.10";
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => app.generate.POST(generateRequest(`distinct prompt ${i}`, { ip }))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(990);
    const keys = createKeySpace(app.prefix);
    expect(await inspect.zcard(keys.rateLimit(shardOf(`ip:${ip}`, SHARDS), `ip:${ip}`))).toBe(10);
    expect(await totals(app.prefix)).toMatchObject({ requests: 1000, allowed: 10, blocked: 990, misses: 10, generations: 10 });
  });

  it("the same new prompt 1,000 times at once with limit 10: 10 through, one answer, the lock gone afterwards", async () => {
    // Whoever takes the generation lock may be refused by its limit; it gives the lock
    // back and an admitted waiter takes it over instead of waiting the full STAMPEDE_WAIT_MS.
    const app = await clusterApp({ RATE_LIMIT_MAX: "10", SIMULATED_LATENCY_MS: "20" });
    const prompt = "one prompt, a thousand callers";
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 1000 }, () => app.generate.POST(generateRequest(prompt, { ip: "192.0.2.11" }))));
    const elapsed = performance.now() - started;
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(10);
    const bodies = await Promise.all(ok.map(async (r) => generateResponseSchema.parse(await r.json())));
    expect(new Set(bodies.map((b) => b.response)).size).toBe(1);
    const t = await totals(app.prefix);
    expect(t).toMatchObject({ requests: 1000, allowed: 10, blocked: 990 });
    expect((t.hits ?? 0) + (t.misses ?? 0)).toBe(10);
    expect(t.generations).toBe(t.misses);
    expect(t.misses).toBeGreaterThanOrEqual(1);
    const keys = createKeySpace(app.prefix);
    expect(await inspect.exists(keys.lock(hashPrompt(prompt, MODEL)))).toBe(0);
    console.info(`[cluster] same prompt ×1000, limit 10: ${t.misses} generation(s), ${t.hits} hit(s) (${t.coalesced ?? 0} coalesced), ${Math.round(elapsed)} ms`);
  });

  it("a waiter takes over a generation lock its owner gave back, instead of waiting out STAMPEDE_WAIT_MS", async () => {
    const app = await clusterApp({ STAMPEDE_WAIT_MS: "20000" });
    const prompt = "an owner that was refused";
    const keys = createKeySpace(app.prefix);
    const lock = keys.lock(hashPrompt(prompt, MODEL));
    // Another request took the lock in its lookup; its limits will refuse it.
    await inspect.set(lock, "refused-owner", "PX", 60_000);
    const started = performance.now();
    const pending = app.generate.POST(generateRequest(prompt, { ip: "192.0.2.12" }));
    await new Promise((r) => setTimeout(r, 150));
    // The refused owner gives the lock back (unlock.lua does this in the app).
    await inspect.del(lock);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(performance.now() - started).toBeLessThan(20_000);
    // Counted as coalesced by decide.lua, moved to the misses by store.lua when it generated.
    expect(await totals(app.prefix)).toMatchObject({ requests: 1, hits: 0, coalesced: 0, misses: 1, generations: 1 });
    expect(await inspect.exists(lock)).toBe(0);
    expect(await inspect.get(keys.cache(hashPrompt(prompt, MODEL)))).toContain("refused");
  });

  it("keeps a multi-dimensional plan exact under 1,000 concurrent requests, whichever limit binds", async () => {
    const clock = Math.floor(1_800_000_000_000 / 86_400_000) * 86_400_000 + 43_200_000;
    const app = await clusterApp({ API_KEYS: "cluster-free-a:free,cluster-free-b:free" });
    app.deps.now = () => clock;
    const burst = (key: string, prompt: (i: number) => string) =>
      Promise.all(Array.from({ length: 1000 }, (_, i) => app.generate.POST(generateRequest(prompt(i), { headers: { "x-api-key": key } }))));
    // free: 30 requests/min, 20,000 tokens/min (token bucket), 1,000/day. A 4-character prompt
    // costs 1 + 512 tokens: 30 fit, so requests bind.
    const a = await burst("cluster-free-a", (i) => String(i).padStart(4, "h"));
    expect(a.filter((r) => r.status === 200)).toHaveLength(30);
    // A 1,024-character prompt costs 256 + 512 = 768 tokens: 26 fit, so tokens bind.
    const b = await burst("cluster-free-b", (i) => String(i).padStart(1024, "x"));
    expect(b.filter((r) => r.status === 200)).toHaveLength(26);
    const refusedBy = await Promise.all(b.filter((r) => r.status === 429).slice(0, 5).map(async (r) => ((await r.json()) as { policy: string }).policy));
    expect(new Set(refusedBy)).toEqual(new Set(["free-tokens"]));
    // The admin route reads the same state on the cluster.
    const identity = `key:${hashApiKey("cluster-free-b")}`;
    const limits = await app.limits.GET(adminRequest(identity, { token: ADMIN_TOKEN }), limitsContext(identity));
    const body = (await limits.json()) as { limits: { policy: string; used: number }[] };
    expect(body.limits.find((l) => l.policy === "free")?.used).toBe(26);
    expect(body.limits.find((l) => l.policy === "free-daily")?.used).toBe(26);
    const reset = await app.limits.DELETE(adminRequest(identity, { method: "DELETE", token: ADMIN_TOKEN }), limitsContext(identity));
    expect(((await reset.json()) as { deletedKeys: number }).deletedKeys).toBe(3);
  });

  it("shares the cache across shards: a prompt cached by a caller on one shard is a hit for callers on others", async () => {
    const app = await clusterApp();
    const ips = ipsOnDistinctShards(4);
    const prompt = "Cached on one shard, read from all";
    const first = await app.generate.POST(generateRequest(prompt, { ip: ips[0] }));
    expect(first.headers.get("x-cache")).toBe("MISS");
    for (const ip of ips.slice(1)) {
      const res = await app.generate.POST(generateRequest(prompt, { ip }));
      expect(res.headers.get("x-cache")).toBe("HIT");
    }
    const keys = createKeySpace(app.prefix);
    const shardsUsed = new Set(ips.map((ip) => shardOf(`ip:${ip}`, SHARDS)));
    expect(shardsUsed.size).toBe(4);
    // The callers' shard slots sit on more than one node, and the entry on its own slot.
    const owners = new Set(await Promise.all(ips.map(async (ip) => nodeOf(await keySlot(keys.totals(shardOf(`ip:${ip}`, SHARDS)))))));
    expect(owners.size).toBeGreaterThan(1);
    expect(await inspect.get(keys.cache(hashPrompt(prompt, MODEL)))).toContain("Cached on one shard");
    expect(await totals(app.prefix)).toMatchObject({ requests: 4, misses: 1, hits: 3 });
  });

  it("stats equal the sum of what was sent, from identities spread over the shards", async () => {
    // 20 identities × 12 requests, limit 10: 5 new prompts, the same 5 again (hits), 2 refused.
    const app = await clusterApp({ RATE_LIMIT_MAX: "10", STREAM_MAXLEN: "160" });
    const ips = Array.from({ length: 20 }, (_, i) => `203.0.113.${100 + i}`);
    await Promise.all(
      ips.map(async (ip, n) => {
        for (let k = 0; k < 12; k++) {
          const res = await app.generate.POST(generateRequest(`caller ${n} prompt ${k % 5}`, { ip }));
          expect(res.status).toBe(k < 10 ? 200 : 429);
          if (k < 10) expect(res.headers.get("x-cache")).toBe(k < 5 ? "MISS" : "HIT");
        }
      }),
    );
    const shardsUsed = new Set(ips.map((ip) => shardOf(`ip:${ip}`, SHARDS)));
    expect(shardsUsed.size).toBeGreaterThanOrEqual(8);
    const stats = statsSchema.parse(await (await app.stats.GET()).json());
    expect(stats.connected).toBe(true);
    expect(stats.totals).toMatchObject({ requests: 240, allowed: 200, blocked: 40, hits: 100, misses: 100, generations: 100 });
    expect(stats.cache).toMatchObject({ hits: 100, misses: 100, total: 200, hitRatio: 0.5, cachedKeys: 100 });
    expect(stats.rateLimit.blockedRequests).toBe(40);
    expect(stats.rateLimit.requestsPerMinute).toBe(240);
    expect(stats.rateLimit.totalKeys).toBe(20);
    expect(stats.rateLimit.topConsumers[0]).toMatchObject({ requests: 12, blocked: 2 });
    // STREAM_MAXLEN split over 16 shards: about 10 entries each (MAXLEN ~: at least 10, at most one
    // stream node of at most 100 entries more), and each identity wrote 12 events.
    const perShard = streamCapPerShard(160, SHARDS);
    expect(perShard).toBe(10);
    expect(stats.stream.length).toBeGreaterThanOrEqual(perShard * shardsUsed.size);
    expect(stats.stream.length).toBeLessThanOrEqual((perShard + 100) * shardsUsed.size);
    expect(stats.activity.length).toBeGreaterThan(0);
    // Every key the app wrote, counted by DBSIZE over the masters (its own keys and earlier tests').
    expect(stats.totalKeys).toBeGreaterThan(100);
  });

  it("puts every key of one decision on one slot, and the cache entry and its lock on theirs", async () => {
    const app = await clusterApp();
    const keys = createKeySpace(app.prefix);
    const now = Date.now();
    for (const identity of ["ip:192.0.2.44", "ip:192.0.2.45", `key:${hashApiKey("demo-enterprise-key")}`]) {
      const s = shardOf(identity, SHARDS);
      const decisionKeys = [
        keys.rateLimit(s, identity),
        keys.rateLimit(s, identity, "tokens", "token-bucket"),
        keys.rateLimit(s, identity, "daily", "fixed-window"),
        keys.totals(s),
        keys.bucket(s, bucketStart(now)),
        keys.top(s, minuteOf(now)),
        keys.topBlocked(s, minuteOf(now)),
        keys.activeCallers(s, bucketStart(now)),
        keys.events(s),
        keys.cacheIndex(s),
      ];
      expect(new Set(await Promise.all(decisionKeys.map(keySlot))).size).toBe(1);
    }
    const sha = hashPrompt("any prompt", MODEL);
    expect(await keySlot(keys.cache(sha))).toBe(await keySlot(keys.lock(sha)));
    // And under load nothing crossed a slot: no request failed or fell back.
    const metrics = await (await app.metrics.GET()).text();
    expect(metrics).not.toMatch(/flowgate_valkey_errors_total\{[^}]*\} [1-9]/);
  });
});

/** The node (host:port) serving a slot, from the inspecting client's slot table. */
function nodeOf(slot: number): string {
  return String(inspect.slots[slot]?.[0] ?? "");
}

describe("round trips per request on the cluster, counted on every node with MONITOR", () => {
  let app: LoadedApp;
  const monitors: Redis[] = [];
  const direct: Redis[] = [];
  const appAddresses = new Set<string>();
  const seen: { source: string; command: string; node: number }[] = [];

  beforeAll(async () => {
    app = await clusterApp({ RATE_LIMIT_MAX: "2" });
    for (const port of cluster.ports) direct.push(new Redis({ port, host: "127.0.0.1" }));
    // Warm up: ioredis sends a script as EVAL the first time on each connection, then
    // EVALSHA. Requests from identities on all 16 shards run decide and store on every
    // node; the prompt-slot scripts run once on every node with harmless keys.
    for (const [i, ip] of ipsOnDistinctShards(16, "192.0.2").entries()) {
      await app.generate.POST(generateRequest(`warm-up ${i}`, { ip }));
    }
    const client = (await app.deps.valkey()) as Cluster;
    const warmed = new Set<string>();
    for (let i = 0; warmed.size < cluster.ports.length && i < 1000; i++) {
      const tag = `{${app.prefix}warm-${i}}`;
      const node = nodeOf(await keySlot(tag));
      if (warmed.has(node)) continue;
      warmed.add(node);
      await client.fgCacheLookup(`${tag}:c`, `${tag}:l`, "warm-up", 0);
      await client.fgCacheStore(`${tag}:c`, `${tag}:l`, "{}", 1, "warm-up");
      await client.fgUnlock(`${tag}:l`, "warm-up");
    }
    expect(warmed.size).toBe(cluster.ports.length);
    for (const [n, node] of direct.entries()) {
      for (const line of String(await node.client("LIST")).split("\n")) {
        if (/ name=flowgate( |$)/.test(line)) appAddresses.add(`${n}/${/addr=(\S+)/.exec(line)?.[1]}`);
      }
      const monitorClient = new Redis({ port: cluster.ports[n], host: "127.0.0.1" });
      monitors.push(monitorClient);
      const monitor = await monitorClient.monitor();
      monitor.on("monitor", (_time: string, args: string[], source: string) => {
        seen.push({ source: `${n}/${source}`, command: String(args[0]).toLowerCase(), node: n });
      });
    }
    expect(appAddresses.size).toBeGreaterThanOrEqual(3);
  }, 60_000);

  afterAll(() => {
    for (const c of [...monitors, ...direct]) c.disconnect();
  });

  /** The app's top-level commands during `action`, on all nodes ("cluster" topology refreshes left out). */
  async function commandsOf(action: () => Promise<unknown>): Promise<{ command: string; node: number }[]> {
    seen.length = 0;
    await action();
    const marker = `marker-${Math.random()}`;
    await Promise.all(direct.map((node) => node.echo(marker)));
    const deadline = Date.now() + 2000;
    while (seen.filter((s) => s.command === "echo").length < direct.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return seen
      .filter((s) => appAddresses.has(s.source) && s.command !== "cluster" && s.command !== "echo")
      .map(({ command, node }) => ({ command, node }));
  }

  const ip = "192.0.2.221";
  const prompt = "a brand new prompt on the cluster";

  it("a miss costs 3 round trips: lookup, decide, then the store's two halves sent at once (4 commands)", async () => {
    const commands = await commandsOf(() => app.generate.POST(generateRequest(prompt, { ip })));
    expect(commands.map((c) => c.command)).toEqual(["evalsha", "evalsha", "evalsha", "evalsha"]);
    console.info(`[cluster] miss: ${commands.length} commands on nodes ${commands.map((c) => c.node).join(",")}`);
  });

  it("a hit costs 2: lookup, decide", async () => {
    const commands = await commandsOf(async () => {
      const res = await app.generate.POST(generateRequest(prompt, { ip }));
      expect(res.headers.get("x-cache")).toBe("HIT");
    });
    expect(commands.map((c) => c.command)).toEqual(["evalsha", "evalsha"]);
  });

  it("a blocked request costs 2: lookup, decide (3 when it had taken the lock of an uncached prompt and gives it back)", async () => {
    const cachedPrompt = await commandsOf(async () => {
      const res = await app.generate.POST(generateRequest(prompt, { ip }));
      expect(res.status).toBe(429);
    });
    expect(cachedPrompt.map((c) => c.command)).toEqual(["evalsha", "evalsha"]);
    const newPrompt = await commandsOf(async () => {
      const res = await app.generate.POST(generateRequest("never generated", { ip }));
      expect(res.status).toBe(429);
    });
    expect(newPrompt.map((c) => c.command)).toEqual(["evalsha", "evalsha", "evalsha"]);
    const keys = createKeySpace(app.prefix);
    expect(await inspect.exists(keys.lock(hashPrompt("never generated", MODEL)))).toBe(0);
  });

  it("a coalesced duplicate in the same process costs 2: lookup and decide, then it awaits the owner's generation", async () => {
    const commands = await commandsOf(async () => {
      const [owner, waiter] = await Promise.all([
        app.generate.POST(generateRequest("two at once on the cluster", { ip: "192.0.2.222" })),
        app.generate.POST(generateRequest("two at once on the cluster", { ip: "192.0.2.223" })),
      ]);
      expect(owner.headers.get("x-cache")).toBe("MISS");
      expect(waiter.headers.get("x-cache")).toBe("HIT");
      expect(waiter.headers.get("x-flowgate-coalesced")).toBe("1");
    });
    // Owner: 4; waiter: 2 (a poll of the cache would add one).
    expect(commands.length).toBeGreaterThanOrEqual(6);
    expect(commands.length).toBeLessThanOrEqual(7);
    console.info(`[cluster] owner + same-process coalesced waiter: ${commands.length} commands`);
  });

  it("stats: a fixed set of calls whatever the keyspace holds, no KEYS, no SCAN", async () => {
    const empty = await commandsOf(() => app.stats.GET());
    expect(empty.map((c) => c.command)).not.toContain("keys");
    expect(empty.map((c) => c.command)).not.toContain("scan");
    const pipeline = inspect.pipeline();
    for (let i = 0; i < 300; i++) pipeline.set(`${app.prefix}cache:{filler}${i}`, "x", "EX", 60);
    await pipeline.exec();
    const full = await commandsOf(() => app.stats.GET());
    const withoutZmscore = (list: { command: string }[]) => list.map((c) => c.command).filter((c) => c !== "zmscore").sort();
    expect(withoutZmscore(full)).toEqual(withoutZmscore(empty));
    const stats = statsSchema.parse(await (await app.stats.GET()).json());
    expect(stats.cost.commands).toBe(full.length);
  });
});

describe("credentials on a cluster", () => {
  let secured: TestValkeyCluster;
  beforeAll(async () => {
    secured = await startValkeyCluster({ password: "cluster-secret-pw" });
  }, 60_000);
  afterAll(async () => {
    await secured?.stop();
  });

  it("takes the password from VALKEY_PASSWORD, or from VALKEY_URL's credentials", async () => {
    const settings: Record<string, string>[] = [
      { VALKEY_PASSWORD: "cluster-secret-pw" },
      { VALKEY_URL: "redis://:cluster-secret-pw@127.0.0.1:1", VALKEY_PASSWORD: "" },
    ];
    for (const env of settings) {
      const app = await clusterApp({ VALKEY_CLUSTER_NODES: secured.nodes, ...env });
      const res = await app.generate.POST(generateRequest("behind a password", { ip: "192.0.2.60" }));
      expect(res.status).toBe(200);
      expect(healthSchema.parse(await (await app.health.GET()).json()).status).toBe("ok");
      await app.close();
    }
  });

  it("a wrong password is reported once, clearly, and not retried", async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args.join(" "));
    try {
      const app = await clusterApp({ VALKEY_CLUSTER_NODES: secured.nodes, VALKEY_PASSWORD: "wrong-password", FAIL_MODE: "closed" });
      const res = await app.generate.POST(generateRequest("wrong password", { ip: "192.0.2.61" }));
      expect(res.status).toBe(503);
      await new Promise((r) => setTimeout(r, 500));
      const health = healthSchema.parse(await (await app.health.GET()).json());
      expect(health.status).toBe("down");
      expect(health.valkey.error).toMatch(/rejected the credentials in VALKEY_PASSWORD/);
      expect(errors.filter((e) => e.includes("rejected the credentials"))).toHaveLength(1);
      const client = await import("@/lib/valkey/client");
      expect(client.getValkey().status).toBe("end");
    } finally {
      console.error = original;
    }
  });
});
