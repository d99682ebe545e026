/**
 * Scale: the gateway's decision on one Valkey node beside a local
 * three-master Valkey Cluster (tests/support/valkey-cluster.ts: real
 * processes), in interleaved rounds at the same concurrency, callers spread
 * over the shards. Each call is what the request path sends (decideCall ->
 * decideRequest): on the node one decide.lua; on the cluster cache-lookup.lua
 * on the prompt's slot, then decide.lua on the caller's shard slot, so a
 * cluster decision costs two script calls and both are counted.
 *
 * The figure that transfers to other machines is Valkey CPU per decision
 * (INFO commandstats EVALSHA usec, summed over the masters, and the servers'
 * whole process CPU from INFO cpu) and its inverse, decisions per second per
 * Valkey core. The cluster ÷ node throughput ratio is only what this machine
 * shows: on 2 cores shared by the load generator and every master, three
 * masters cannot run on three cores. The cache lookup alone is measured too:
 * it is the part of a cluster decision that follows the prompt's slot (even
 * over the masters), the rest follows the caller's shard tag.
 *
 * On its own (starts its own node and cluster, stops them on exit):
 *   node --conditions=react-server --import tsx scripts/bench/cluster-scale.ts [--quick]
 */
import os from "node:os";
import { Redis } from "ioredis";
import { DEFAULT_SHARDS } from "@/lib/config";
import { randomUUID } from "node:crypto";
import { lookupPromptCache } from "@/lib/gateway/cluster-cache";
import { DEFAULT_MODEL, planGeneration } from "@/lib/gateway/model";
import { hashPrompt } from "@/lib/gateway/prompt-cache";
import { encodeCachedEntry } from "@/lib/gateway/store";
import type { ValkeyClient } from "@/lib/valkey/client";
import { createKeySpace } from "@/lib/valkey/keys";
import { median, summarize, type LatencySummary } from "../lib/percentiles";
import { startValkeyCluster } from "../../tests/support/valkey-cluster";
import { appClient, appCluster, commandStats, decideCall, drive, IDENTITIES, type Call } from "./decision";
import { renderClusterScale, SIZING_MASTERS, SIZING_SHARDS } from "./report";
import { log, runMain, sleep, startValkey } from "./support";

export interface ScaleTarget {
  /** single: one node; cluster: a whole decision on the cluster; lookup: its cache-lookup.lua alone (the part that follows the prompt's slot). */
  name: "single" | "cluster" | "lookup";
  label: string;
  masters: number;
  /** VALKEY_SHARDS the calls used (the app's default for the mode). */
  shards: number;
  /** Median over rounds of decisions per second. */
  perSecond: number;
  roundsPerSecond: number[];
  latency: LatencySummary;
  errors: number;
  decisions: number;
  /** Script calls per decision (EVALSHA calls ÷ decisions): 1 on a node, 2 on a cluster. */
  callsPerDecision: number;
  /** Valkey CPU per decision inside the scripts, µs: EVALSHA usec summed over the masters ÷ decisions. */
  serverMicros: number;
  /** The servers' whole CPU per decision, µs (INFO cpu, user + sys, summed over the masters): the scripts plus reading, parsing and answering the calls. */
  cpuMicros: number;
  /** Bytes in and out of the servers per decision (INFO stats total_net_input_bytes + total_net_output_bytes). */
  netBytes: number;
  /** Each master's share of the script calls, largest first. */
  masterShare: number[];
}

export interface ShardBalance {
  masters: number;
  shards: number;
  /** The busiest master's share of the shard tags ÷ an even share (1 = even). */
  busiest: number;
}

export interface ClusterScaleResult {
  concurrency: number;
  roundMs: number;
  rounds: number;
  identities: number;
  prompts: number;
  cpus: number;
  targets: ScaleTarget[];
  /** How VALKEY_SHARDS shard tags fall on N masters with slots split evenly (as valkey-cli --cluster create does). */
  balance: ShardBalance[];
}

/** Each prompt is cached, so every call takes the hit path (the decision-cost phase's decide-hit). */
const PROMPTS = 64;
const prompt = (i: number) => `bench scale: cached prompt ${i}`;

interface Sample {
  calls: number;
  usec: number;
  /** CPU seconds, user + sys, since the server started. */
  cpu: number;
  /** Bytes in + out since the server started (or the last RESETSTAT). */
  net: number;
}

async function cpuAndNet(node: Redis): Promise<{ cpu: number; net: number }> {
  const info = `${await node.info("cpu")}\n${await node.info("stats")}`;
  const read = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return { cpu: read("used_cpu_user") + read("used_cpu_sys"), net: read("total_net_input_bytes") + read("total_net_output_bytes") };
}

/** EVALSHA calls and usec since the last RESETSTAT, and CPU seconds so far, per node. */
async function sampleNodes(nodes: Redis[]): Promise<Sample[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const evalsha = (await commandStats(node)).get("evalsha") ?? { calls: 0, usec: 0 };
      return { ...evalsha, ...(await cpuAndNet(node)) };
    }),
  );
}

/** Shard tag `{s}` → slot, asked of the cluster itself; then which master holds it when N masters split the slots evenly. */
async function shardBalance(node: Redis, keyOf: (shard: number) => string): Promise<ShardBalance[]> {
  const out: ShardBalance[] = [];
  const slots: number[] = [];
  for (let s = 0; s < Math.max(...SIZING_SHARDS); s++) slots.push(Number(await node.cluster("KEYSLOT", keyOf(s))));
  for (const shards of SIZING_SHARDS) {
    for (const masters of SIZING_MASTERS) {
      const held = new Array<number>(masters).fill(0);
      for (const slot of slots.slice(0, shards)) {
        const m = Math.min(masters - 1, Math.floor((slot * masters) / 16384));
        held[m] = (held[m] ?? 0) + 1;
      }
      out.push({ masters, shards, busiest: Math.round((Math.max(...held) / (shards / masters)) * 100) / 100 });
    }
  }
  return out;
}

export async function measureClusterScale(singleUrl: string, opts: { concurrency: number; roundMs: number; rounds: number }): Promise<ClusterScaleResult> {
  const cluster = await startValkeyCluster();
  const single = await appClient(singleUrl);
  const clusterClient = await appCluster(cluster.ports);
  const singleNodes = [new Redis(singleUrl)];
  const clusterNodes = cluster.ports.map((port) => new Redis({ host: "127.0.0.1", port }));
  try {
    const prefix = "bs:";
    const keys = createKeySpace(prefix);
    const promptHashes = Array.from({ length: PROMPTS }, (_, i) => hashPrompt(prompt(i), DEFAULT_MODEL));
    const seed = async (client: ValkeyClient) => {
      for (const [i, hash] of promptHashes.entries()) {
        const entry = encodeCachedEntry({ ...planGeneration(prompt(i), DEFAULT_MODEL, 600), createdAt: Date.now() });
        await client.set(keys.cache(hash), entry, "EX", 3600);
      }
    };
    await seed(single);
    await seed(clusterClient);

    const targets: { name: ScaleTarget["name"]; label: string; shards: number; nodes: Redis[]; call: Call }[] = [
      {
        name: "single",
        label: "one Valkey node: decide.lua (cache lookup inside)",
        shards: DEFAULT_SHARDS.standalone,
        nodes: singleNodes,
        call: decideCall({ client: single, keys, shards: DEFAULT_SHARDS.standalone, promptHashes }),
      },
      {
        name: "cluster",
        label: `${cluster.ports.length}-master cluster: cache-lookup.lua + decide.lua`,
        shards: DEFAULT_SHARDS.cluster,
        nodes: clusterNodes,
        call: decideCall({ client: clusterClient, keys, shards: DEFAULT_SHARDS.cluster, promptHashes }),
      },
      {
        // What of the cluster's decision follows the prompt (evenly over the masters) rather than the caller's shard tag.
        name: "lookup",
        label: `${cluster.ports.length}-master cluster: cache-lookup.lua alone`,
        shards: DEFAULT_SHARDS.cluster,
        nodes: clusterNodes,
        call: (i) => lookupPromptCache({ client: clusterClient, keys, promptHash: promptHashes[i % PROMPTS] as string, requestId: randomUUID(), lockTtlMs: 0 }),
      },
    ];

    // Warm-up: connections to every master open, scripts loaded, slots known, JIT settled.
    for (const t of targets) await drive(t.call, opts.concurrency, 500);

    const acc = new Map(
      targets.map((t) => [t.name, { rounds: [] as number[], latencies: [] as number[], errors: 0, decisions: 0, perNode: t.nodes.map(() => ({ calls: 0, usec: 0, cpu: 0, net: 0 })) }]),
    );
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        await Promise.all(t.nodes.map((n) => n.config("RESETSTAT")));
        const before = await sampleNodes(t.nodes);
        const r = await drive(t.call, opts.concurrency, opts.roundMs);
        const after = await sampleNodes(t.nodes);
        const a = acc.get(t.name);
        if (!a) continue;
        a.rounds.push((r.done / r.elapsed) * 1000);
        for (const v of r.latencies) a.latencies.push(v);
        a.errors += r.errors;
        a.decisions += r.done;
        for (const [i, s] of after.entries()) {
          const p = a.perNode[i];
          if (!p) continue;
          p.calls += s.calls;
          p.usec += s.usec;
          p.cpu += s.cpu - (before[i]?.cpu ?? s.cpu);
          p.net += s.net - (before[i]?.net ?? s.net);
        }
        await sleep(100);
      }
      log(`cluster scale: round ${round + 1}/${opts.rounds} done`);
    }

    const round2 = (n: number) => Math.round(n * 100) / 100;
    const results: ScaleTarget[] = targets.map((t) => {
      const a = acc.get(t.name) ?? { rounds: [], latencies: [], errors: 0, decisions: 0, perNode: [] };
      const calls = a.perNode.reduce((x, p) => x + p.calls, 0);
      const usec = a.perNode.reduce((x, p) => x + p.usec, 0);
      const cpu = a.perNode.reduce((x, p) => x + p.cpu, 0);
      const net = a.perNode.reduce((x, p) => x + p.net, 0);
      const per = (n: number) => (a.decisions > 0 ? n / a.decisions : 0);
      return {
        name: t.name,
        label: t.label,
        masters: t.nodes.length,
        shards: t.shards,
        perSecond: median(a.rounds),
        roundsPerSecond: a.rounds.map((v) => Math.round(v)),
        latency: summarize(a.latencies),
        errors: a.errors,
        decisions: a.decisions,
        callsPerDecision: round2(per(calls)),
        serverMicros: round2(per(usec)),
        cpuMicros: round2(per(cpu * 1e6)),
        netBytes: Math.round(per(net)),
        masterShare: a.perNode.map((p) => round2(calls > 0 ? p.calls / calls : 0)).sort((x, y) => y - x),
      };
    });
    const balance = await shardBalance(clusterNodes[0] as Redis, (s) => keys.totals(s));
    return { ...opts, identities: IDENTITIES, prompts: PROMPTS, cpus: os.cpus().length, targets: results, balance };
  } finally {
    for (const c of [single, clusterClient, ...singleNodes, ...clusterNodes]) c.disconnect();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const valkey = await startValkey();
  try {
    const result = await measureClusterScale(valkey.url, { concurrency: 32, roundMs: quick ? 1000 : 2500, rounds: quick ? 2 : 3 });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${renderClusterScale(result).join("\n")}\n`);
  } finally {
    await valkey.stop();
  }
}

if (require.main === module) runMain(main);
