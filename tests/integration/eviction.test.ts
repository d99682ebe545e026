import { afterEach, describe, expect, it, vi } from "vitest";
import { errorBodySchema, generateResponseSchema } from "@/lib/schemas";
import { generateRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";
import { startValkey, type TestValkey } from "../support/valkey-server";
import { numericHash, toTotals } from "@/lib/stats/snapshot";

/**
 * Which maxmemory-policy Flowgate needs, shown on a real server that is full
 * (docs/operations.md, "maxmemory and eviction").
 *
 * Each test starts a Valkey of its own with a small maxmemory and plays what
 * a full gateway sees: cold cached prompts, one hot prompt, one client
 * hammering its limit the whole time, then a flood of one-off prompts.
 * allkeys-lfu, the recommendation, must evict cold cache entries and nothing
 * else: the client stays limited, the hot prompt stays a hit. noeviction,
 * Valkey's default, refuses the writes: no decision can be made, and the
 * gateway follows FAIL_MODE as for a Valkey it cannot reach.
 *
 * The app's clock is fixed (deps.now), so the run is one rate-limit window
 * and one stats bucket: the flood creates no key but cache entries, and
 * "exactly the limit admitted" needs no timing. The window (10 min) outlasts
 * any run, so no limit key lapses by its TTL (server time) on a slow machine.
 */

const MAXMEMORY = "4mb";
const LIMIT = 10;
const WINDOW_MS = 600_000;
const ACTIVE_IP = "198.51.100.200";
/** The flood comes through a few enterprise keys: admitted, and no new limit key per request. */
const FLOOD_KEYS = ["flood-key-1", "flood-key-2", "flood-key-3", "flood-key-4"];
const COLD_PROMPTS = 100;
const HOT_HITS = 300;
/** The flood stops once this many keys were evicted: about a quarter of the entries it stored. */
const EVICTIONS_WANTED = 1000;
/** At most this many flood prompts, so a server that never fills ends the test. */
const FLOOD_MAX = 12_000;
/** Flood prompts in flight at once; the active client asks once after each batch. */
const FLOOD_BATCH = 25;
/** A bound for a slow 2-core machine (about 5 s here), not a speed assertion. */
const FLOOD_TEST_TIMEOUT_MS = 120_000;

async function infoFields(app: LoadedApp, section: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await app.inspect.info(section)).split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

const evictedKeys = async (app: LoadedApp) => Number((await infoFields(app, "stats")).evicted_keys);

/** Status → how many answers had it. */
type Tally = Record<number, number>;

function tallyOf(statuses: number[]): Tally {
  const out: Tally = {};
  for (const s of statuses) out[s] = (out[s] ?? 0) + 1;
  return out;
}

interface Run {
  valkey: TestValkey;
  app: LoadedApp;
  /** Every status the active client got, in order. */
  active: number[];
  /** The cold prompts and their cache keys; the hot prompt's key. */
  cold: { prompt: string; key: string }[];
  hot: string;
  /** Every key but the cache entries once warm: limit state, counters, stream, indexes. */
  others: string[];
  /** Requests sent in all (the totals counter must match). */
  requests: number;
  /** One request from the active client; its status is recorded. */
  hammer(): Promise<Response>;
  ask(prompt: string, i: number): Promise<Response>;
  cacheKeys(): Promise<string[]>;
}

/** What every cache entry's key starts with, from the one builder: `cache(sha)` is this prefix and `{sha}`. */
const cachePrefix = (app: LoadedApp) => app.deps.keys.cache("").slice(0, -"{}".length);

async function keysBesidesCache(r: Run): Promise<string[]> {
  return (await keysUnder(r.app.inspect, r.app.prefix)).filter((k) => !k.startsWith(cachePrefix(r.app)));
}

let run: Run | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await run?.app.close();
  await run?.valkey.stop();
  run = undefined;
});

/**
 * A server with the policy, and the state a running gateway has before the
 * flood: the active client at its limit, COLD_PROMPTS cached once, one
 * prompt cached and hit HOT_HITS times.
 */
async function warmGateway(policy: string, env: Record<string, string> = {}): Promise<Run> {
  const valkey = await startValkey({ extraArgs: ["--maxmemory", MAXMEMORY, "--maxmemory-policy", policy] });
  const app = await loadApp({
    VALKEY_URL: valkey.url,
    RATE_LIMIT_MAX: String(LIMIT),
    RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
    API_KEYS: FLOOD_KEYS.map((k) => `${k}:enterprise`).join(","),
    // No generation locks: short-lived keys that would be eviction candidates too.
    STAMPEDE_LOCK_MS: "0",
    ...env,
  });
  const frozen = Date.now();
  app.deps.now = () => frozen;
  expect((await infoFields(app, "memory")).maxmemory_policy).toBe(policy);

  const active: number[] = [];
  const r: Run = {
    valkey,
    app,
    active,
    cold: [],
    hot: "",
    others: [],
    requests: 0,
    async hammer() {
      r.requests++;
      const res = await app.generate.POST(generateRequest("the active client's question", { ip: ACTIVE_IP }));
      await res.clone().arrayBuffer();
      active.push(res.status);
      return res;
    },
    async ask(prompt, i) {
      r.requests++;
      const key = FLOOD_KEYS[i % FLOOD_KEYS.length]!;
      const res = await app.generate.POST(generateRequest(prompt, { headers: { authorization: `Bearer ${key}` } }));
      await res.clone().arrayBuffer();
      return res;
    },
    cacheKeys: () => keysUnder(app.inspect, cachePrefix(app)),
  };
  run = r;

  // The active client is there first, and asks all along.
  await r.hammer();
  // A prompt's cache key, from the cacheKey (hash prefix) its answer names.
  const cacheKeyOf = async (res: Response) => {
    const { cacheKey } = generateResponseSchema.parse(await res.json());
    const found = (await r.cacheKeys()).filter((k) => k.startsWith(`${cachePrefix(app)}{${cacheKey}`));
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  for (let i = 0; i < COLD_PROMPTS; i++) {
    const prompt = `cold prompt ${i}`;
    const res = await r.ask(prompt, i);
    expect(res.headers.get("x-cache")).toBe("MISS");
    r.cold.push({ prompt, key: await cacheKeyOf(res) });
    if (i % 10 === 0) await r.hammer();
  }
  const first = await r.ask("the hot prompt", 0);
  expect(first.headers.get("x-cache")).toBe("MISS");
  r.hot = await cacheKeyOf(first);
  for (let i = 0; i < HOT_HITS; i++) {
    expect((await r.ask("the hot prompt", i)).headers.get("x-cache")).toBe("HIT");
    if (i % 10 === 0) await r.hammer();
  }
  expect(await evictedKeys(app)).toBe(0);
  r.others = await keysBesidesCache(r);
  return r;
}

describe("maxmemory-policy allkeys-lfu (the recommendation)", () => {
  it(
    "evicts only cold cache entries under a flood of new prompts: the active client stays at its limit, the hot prompt stays a hit",
    async () => {
      const r = await warmGateway("allkeys-lfu");
      const { app } = r;

      // The flood: distinct prompts, each stored once and never asked again.
      // The hot prompt is not asked during it: LFU keeps it on its count alone.
      const flood: number[] = [];
      let evicted = 0;
      while (flood.length < FLOOD_MAX && evicted < EVICTIONS_WANTED) {
        const from = flood.length;
        const batch = await Promise.all(Array.from({ length: FLOOD_BATCH }, (_, j) => r.ask(`flood prompt ${from + j}`, from + j)));
        for (const res of batch) {
          flood.push(res.status);
          expect(res.headers.get("x-cache")).toBe("MISS");
        }
        await r.hammer();
        if (flood.length % 200 === 0) evicted = await evictedKeys(app);
      }
      evicted = await evictedKeys(app);

      // Evictions happened, and the flood itself was served.
      expect(evicted).toBeGreaterThanOrEqual(EVICTIONS_WANTED);
      expect(tallyOf(flood)).toEqual({ 200: flood.length });

      // The active client: exactly its limit admitted in its one window, all else refused.
      expect(tallyOf(r.active)).toEqual({ 200: LIMIT, 429: r.active.length - LIMIT });
      const limitKey = app.deps.keys.rateLimit(0, `ip:${ACTIVE_IP}`);
      expect(await app.inspect.zcard(limitKey)).toBe(LIMIT);

      // Every evicted key was a cache entry: the index (never evicted) lists
      // every entry ever stored, and exactly `evicted` of them are gone.
      const stored = 1 + COLD_PROMPTS + 1 + flood.length; // the active client's, cold, hot, flood
      expect(await app.inspect.zcard(app.deps.keys.cacheIndex(0))).toBe(stored);
      const present = new Set(await r.cacheKeys());
      expect(stored - present.size).toBe(evicted);
      // The rest is all there (limit state, counters, stream, the hot-prompt
      // and top-consumer sets: allkeys-lru was seen to evict the hot-prompt set).
      expect(await keysBesidesCache(r)).toEqual(r.others);
      // The counters too: every request counted.
      expect(toTotals(numericHash(await app.inspect.hgetall(app.deps.keys.totals(0)))).requests).toBe(r.requests);

      // Cold entries went (LFU ties them with the flood's one-off entries: seen once each) ...
      const coldGone = r.cold.filter(({ key }) => !present.has(key));
      expect(coldGone.length).toBeGreaterThan(0);
      // ... the hot one stayed, and is still answered from the cache.
      expect(present.has(r.hot)).toBe(true);
      expect((await r.ask("the hot prompt", 0)).headers.get("x-cache")).toBe("HIT");
      // An evicted prompt costs a generation, not an error.
      const again = await r.ask(coldGone[0]!.prompt, 0);
      expect(again.status).toBe(200);
      expect(again.headers.get("x-cache")).toBe("MISS");
      // The limit still holds after the flood.
      expect((await r.hammer()).status).toBe(429);
    },
    FLOOD_TEST_TIMEOUT_MS,
  );
});

describe("maxmemory-policy noeviction (Valkey's default)", () => {
  it(
    "refuses writes once full: nothing is evicted, no decision can be made and the gateway follows FAIL_MODE (closed: 503 for everyone), admitting no one past its limit",
    async () => {
      const r = await warmGateway("noeviction", { FAIL_MODE: "closed" });
      const { app } = r;
      // What the gateway logs for each refused write (the decisions' and the stores'): checked below, not printed.
      const warned = vi.spyOn(console, "warn").mockImplementation(() => undefined);

      // Flood until the server refuses a decision's writes.
      const flood: number[] = [];
      while (flood.length < FLOOD_MAX && !flood.includes(503)) {
        const from = flood.length;
        const batch = await Promise.all(Array.from({ length: FLOOD_BATCH }, (_, j) => r.ask(`flood prompt ${from + j}`, from + j)));
        for (const res of batch) {
          flood.push(res.status);
          if (res.status === 503) {
            const body = errorBodySchema.parse(await res.json());
            expect(body.code).toBe("valkey_unavailable");
            // Our sentence for the cause, never Valkey's words.
            expect(body.error).not.toMatch(/OOM command not allowed/);
          }
        }
        await r.hammer();
      }
      expect(flood).toContain(503);
      expect(new Set(flood)).toEqual(new Set([200, 503]));
      expect(await evictedKeys(app)).toBe(0);

      // Right at the limit, a freed buffer can let one more write in. Lower
      // the limit well under what is used, so "full" has one meaning below.
      const used = Number((await infoFields(app, "memory")).used_memory);
      await app.inspect.config("SET", "maxmemory", String(Math.floor(used / 2)));

      // A refusal, a cache hit and a new prompt all need a write (counters,
      // the event): each is refused with a 503 and Retry-After, none served.
      for (const res of [
        await r.hammer(),
        await r.ask("the hot prompt", 0),
        await r.ask("a prompt never seen", 0),
      ]) {
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(errorBodySchema.parse(await res.json()).code).toBe("valkey_unavailable");
      }
      // The hot prompt is still in Valkey: a full server loses no data, it loses every answer.
      expect(await app.inspect.exists(r.hot)).toBe(1);
      expect(await evictedKeys(app)).toBe(0);
      // The active client was never admitted past its limit (its state is never evicted).
      expect(r.active.filter((s) => s === 200)).toHaveLength(LIMIT);
      expect(new Set(r.active)).toEqual(new Set([200, 429, 503]));
      // The log says why, in words an operator can act on (a decision or a
      // store refused for memory, whichever came first); any other store that
      // failed was refused by the breaker that opened on it (its answer was
      // served, not cached).
      const messages = warned.mock.calls.map(([message]) => String(message));
      expect(messages.some((m) => m.includes("Valkey is out of memory") && m.includes("allkeys-lfu"))).toBe(true);
      for (const [message, error] of warned.mock.calls) {
        if (String(message).includes("could not settle")) expect((error as Error).message).toMatch(/^Valkey circuit breaker is open/);
      }

      // Memory freed (the operator raises maxmemory): the gateway recovers by itself, no restart.
      await app.inspect.config("SET", "maxmemory", "0");
      let recovered = 0;
      for (let i = 0; i < 50 && recovered === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const res = await r.ask(`after recovery ${i}`, i);
        if (res.status === 200) recovered = 1;
      }
      expect(recovered).toBe(1);
    },
    FLOOD_TEST_TIMEOUT_MS,
  );
});
