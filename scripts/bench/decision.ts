/**
 * Decision cost: the gateway's decide call (lib/gateway/rate-limit.ts, the
 * code the request path runs) beside rate-limiter-flexible's
 * RateLimiterRedis.consume and the bare minimum, one EVALSHA of `return 1`.
 * Same server, same ioredis settings (the app's own client factory), same
 * concurrency; the contenders take turns in short rounds so the machine's
 * noise falls on all of them alike.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { policyFor } from "@/lib/gateway/policy";
import { decideRequest } from "@/lib/gateway/rate-limit";
import { hashPrompt } from "@/lib/gateway/prompt-cache";
import { DEFAULT_MODEL, planGeneration } from "@/lib/gateway/model";
import { encodeCachedEntry } from "@/lib/gateway/store";
import { createValkeyClient, createValkeyCluster, type ValkeyClient } from "@/lib/valkey/client";
import { createKeySpace, type KeySpace } from "@/lib/valkey/keys";
import { composeScript, readScript } from "@/lib/valkey/scripts";
import { median, summarize, type LatencySummary } from "../lib/percentiles";
import { DECIDE_BEFORE_COMMIT } from "./report";
import { log, ROOT, sleep } from "./support";

/**
 * decide.lua as composed at DECIDE_BEFORE_COMMIT (its own file and the sliding
 * log's, the rest as today), or null. The sources come from git, so this needs
 * the history (a clone has it); without it the contender is left out and the
 * report says so.
 */
export function decideScriptBefore(): string | null {
  try {
    let composed = composeScript("decide");
    for (const file of ["decide", "algorithms/sliding-log"]) {
      const before = execFileSync("git", ["show", `${DECIDE_BEFORE_COMMIT}:lib/valkey/scripts/${file}.lua`], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      const now = readScript(file);
      if (!composed.includes(now)) return null;
      composed = composed.replace(now, () => before);
    }
    return composed;
  } catch {
    return null;
  }
}

export interface ContenderResult {
  name: string;
  label: string;
  /** Median over rounds of calls completed per second. */
  perSecond: number;
  roundsPerSecond: number[];
  latency: LatencySummary;
  errors: number;
  /** Server CPU per call, µs (INFO commandstats: usec of EVALSHA / calls), the scripts' inner commands included. */
  serverMicros: number;
  /** Where the server's time goes inside the script: inner command → µs per call of the script. */
  serverBreakdown: Record<string, number>;
}

export interface DecisionResult {
  concurrency: number;
  roundMs: number;
  rounds: number;
  identities: number;
  contenders: ContenderResult[];
}

export type Call = (i: number) => Promise<unknown>;

export interface CommandStat {
  calls: number;
  usec: number;
}

export async function commandStats(redis: Redis): Promise<Map<string, CommandStat>> {
  const out = new Map<string, CommandStat>();
  for (const line of (await redis.info("commandstats")).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m?.[1]) out.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

export const IDENTITIES = 1000;
export const ip = (i: number) => `ip:198.18.${(i >> 8) & 255}.${i & 255}`;

/** A connection made by the app's own factory (no offline queue, scripts registered), once ready. */
export async function appClient(url: string): Promise<Redis> {
  const c = createValkeyClient(url, { connectTimeoutMs: 2000, commandTimeoutMs: 5000, logErrors: true });
  if (c.status !== "ready") await new Promise<void>((resolve) => c.once("ready", () => resolve()));
  return c;
}

/** The app's cluster client (createValkeyCluster: same fail-fast settings, scripts registered), once every master is known. */
export async function appCluster(ports: number[]): Promise<Cluster> {
  const c = createValkeyCluster(
    ports.map((port) => ({ host: "127.0.0.1", port })),
    { connectTimeoutMs: 2000, commandTimeoutMs: 5000, logErrors: true, tls: false },
  );
  if (c.status !== "ready") await new Promise<void>((resolve) => c.once("ready", () => resolve()));
  return c;
}

/**
 * One gateway decision per call, exactly as the request path makes it
 * (decideRequest): on a single server one decide.lua call; on a cluster
 * cache-lookup.lua on the prompt's slot, then decide.lua on the caller's
 * shard slot. Caller i is the ith of IDENTITIES addresses, its prompt the
 * (i mod n)th of `promptHashes`.
 */
export function decideCall(target: { client: ValkeyClient; keys: KeySpace; shards: number; promptHashes: string[] }): Call {
  const policy = policyFor("anonymous", { limit: 1_000_000_000, windowMs: 60_000 });
  const { client, keys, shards, promptHashes } = target;
  return (i) =>
    decideRequest({
      client,
      keys,
      shards,
      identity: { id: ip(i % IDENTITIES), kind: "ip", tier: "anonymous" },
      policy,
      requestId: randomUUID(),
      promptHash: promptHashes[i % promptHashes.length] as string,
      promptTokens: 8,
      streamCap: 1000,
      // No generation lock: the miss contender asks for the same uncached prompt over and over.
      lockTtlMs: 0,
      now: Date.now(),
    });
}

/** `concurrency` loops calling `call` back to back for `ms`; latencies in ms. */
export async function drive(call: Call, concurrency: number, ms: number): Promise<{ done: number; errors: number; latencies: number[]; elapsed: number }> {
  const latencies: number[] = [];
  let done = 0;
  let errors = 0;
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call(n++);
          latencies.push(performance.now() - t);
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { done, errors, latencies, elapsed: performance.now() - start };
}

export async function measureDecisionCost(url: string, opts: { concurrency: number; roundMs: number; rounds: number }): Promise<DecisionResult> {
  const prefix = "bd:";
  const keys = createKeySpace(prefix);

  // A cached entry, as store.lua writes it, so decide takes its full hit path.
  const hitHash = hashPrompt("bench: what is a sliding window?", DEFAULT_MODEL);
  const missHash = hashPrompt("bench: a prompt that is never cached", DEFAULT_MODEL);
  const setup = await appClient(url);
  await setup.set(keys.cache(hitHash), encodeCachedEntry({ ...planGeneration("bench: what is a sliding window?", DEFAULT_MODEL, 600), createdAt: Date.now() }), "EX", 3600);

  const gateway = await appClient(url);
  const rlfClient = await appClient(url);
  const bare = await appClient(url);
  const bareSha = String(await bare.script("LOAD", "return 1"));
  const limiter = new RateLimiterRedis({ storeClient: rlfClient, keyPrefix: `${prefix}rlf`, points: 1_000_000_000, duration: 60 });

  const decide = (promptHash: string): Call => decideCall({ client: gateway, keys, shards: 1, promptHashes: [promptHash] });
  // The same decideRequest on a connection of its own whose fgDecide is the script as it was before
  // (defineCommand replaces the one registerScripts gave it: same keys, same arguments, same EVALSHA path).
  const beforeSource = decideScriptBefore();
  const beforeClient = beforeSource ? await appClient(url) : null;
  beforeClient?.defineCommand("fgDecide", { numberOfKeys: 13, lua: beforeSource as string });
  if (!beforeClient) log(`decision cost: decide.lua as of ${DECIDE_BEFORE_COMMIT} not found in git; measuring today's script only`);

  const contenders: { name: string; label: string; call: Call }[] = [
    { name: "bare", label: "EVALSHA `return 1` (the floor)", call: () => bare.evalsha(bareSha, 0) },
    { name: "decide-hit", label: "Flowgate decide, cache hit (limit + cache + counters + event)", call: decide(hitHash) },
    ...(beforeClient
      ? [{ name: "decide-hit-before", label: `Flowgate decide, cache hit, decide.lua as of ${DECIDE_BEFORE_COMMIT} (before issue 13's pass over its Lua)`, call: decideCall({ client: beforeClient, keys, shards: 1, promptHashes: [hitHash] }) }]
      : []),
    { name: "decide-miss", label: "Flowgate decide, cache miss lookup", call: decide(missHash) },
    { name: "rlf", label: "rate-limiter-flexible RateLimiterRedis.consume", call: (i) => limiter.consume(ip(i % IDENTITIES)) },
  ];

  // Warm-up: connections open, scripts loaded, JIT settled.
  for (const c of contenders) await drive(c.call, opts.concurrency, 500);

  const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const latencies = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const errors = new Map<string, number>(contenders.map((c) => [c.name, 0]));
  const server = new Map<string, Map<string, CommandStat>>(contenders.map((c) => [c.name, new Map()]));
  for (let round = 0; round < opts.rounds; round++) {
    // Alternate the order so no contender always runs right after another.
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      await setup.config("RESETSTAT");
      const r = await drive(c.call, opts.concurrency, opts.roundMs);
      const acc = server.get(c.name) ?? new Map<string, CommandStat>();
      for (const [name, stat] of await commandStats(setup)) {
        if (name.startsWith("config") || name.startsWith("info")) continue;
        const prev = acc.get(name) ?? { calls: 0, usec: 0 };
        acc.set(name, { calls: prev.calls + stat.calls, usec: prev.usec + stat.usec });
      }
      perRound.get(c.name)?.push((r.done / r.elapsed) * 1000);
      const pooled = latencies.get(c.name) ?? [];
      for (const v of r.latencies) pooled.push(v);
      errors.set(c.name, (errors.get(c.name) ?? 0) + r.errors);
      await sleep(100);
    }
    log(`decision cost: round ${round + 1}/${opts.rounds} done`);
  }

  const serverOf = (name: string) => {
    const stats = server.get(name) ?? new Map<string, CommandStat>();
    const top = stats.get("evalsha") ?? { calls: 0, usec: 0 };
    const perCall = (usec: number) => (top.calls > 0 ? Math.round((usec / top.calls) * 100) / 100 : 0);
    const breakdown: Record<string, number> = {};
    for (const [cmd, stat] of [...stats].sort((a, b) => b[1].usec - a[1].usec)) {
      if (cmd !== "evalsha") breakdown[cmd] = perCall(stat.usec);
    }
    return { serverMicros: perCall(top.usec), serverBreakdown: breakdown };
  };
  const results = contenders.map((c) => ({
    ...serverOf(c.name),
    name: c.name,
    label: c.label,
    perSecond: median(perRound.get(c.name) ?? []),
    roundsPerSecond: (perRound.get(c.name) ?? []).map((v) => Math.round(v)),
    latency: summarize(latencies.get(c.name) ?? []),
    errors: errors.get(c.name) ?? 0,
  }));
  for (const c of [setup, gateway, rlfClient, bare, beforeClient]) c?.disconnect();
  return { concurrency: opts.concurrency, roundMs: opts.roundMs, rounds: opts.rounds, identities: IDENTITIES, contenders: results };
}
