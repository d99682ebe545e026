/**
 * The bench's figures where people read them: a short summary of the run,
 * written by `npm run bench` itself into docs/benchmarks.md and a one-line
 * version into README.md, between markers (`<!-- bench:NAME -->` …
 * `<!-- /bench:NAME -->`). Nothing there is typed by hand, so the docs cannot
 * quote a run other than the one in bench/RESULTS.md.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { BenchResults } from "./report";

const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const x = (n: number) => `${n.toFixed(2)}×`;
const us = (n: number) => `${n.toFixed(1)} µs`;

/** The CPU's maker and family ("AMD EPYC", "Intel(R) Xeon(R)"): runs on different ones are not comparable. */
const cpuName = (r: BenchResults) => r.machine.cpuModel.split(" ").slice(0, 2).join(" ");

function run(r: BenchResults): string {
  const when = r.startedAt.slice(0, 16).replace("T", " ");
  return `\`${r.command}\` on ${when} UTC (${r.machine.cpus} × ${cpuName(r)}, ${r.machine.valkey}, load average ${r.machine.loadAverageStart[0]?.toFixed(1)} at the start)`;
}

/** A few lines on the whole run, each figure beside what it is compared with in the same run. */
export function renderSummary(r: BenchResults): string {
  const c = (name: string) => r.decision.contenders.find((k) => k.name === name);
  const hit = c("decide-hit");
  const bare = c("bare");
  const rlf = c("rlf");
  const o = r.overhead.overhead;
  const target = (name: string) => r.overhead.targets.find((t) => t.name === name);
  const portkey = r.overhead.portkey.measured ? o.portkey : undefined;
  const lean = o.flowgate;
  const next = o["flowgate-next"];
  const hitSeq = target("flowgate-hit")?.sequential;
  const tput = (name: string) => target(name)?.throughput?.perSecond;
  const stats = r.stats.phases[r.stats.phases.length - 1];
  const lh = r.lighthouse;
  const met = r.goals.filter((g) => g.met).length;
  const lines = [
    `The run in [bench/RESULTS.md](../bench/RESULTS.md): ${run(r)}. ${met} of ${r.goals.length} goals met; each one not met has its measured reason there.`,
    "",
  ];
  if (lean) {
    lines.push(
      `- **Overhead over a direct call** (\`/v1/chat/completions\` to a local upstream that answers at once): Flowgate's lean path adds ${ms(lean.p50)} at p50 on a miss (two Valkey round trips${next ? `; ${ms(next.p50)} through Next.js's router` : ""})${portkey ? `, Portkey's gateway ${ms(portkey.p50)} (${x(lean.p50 / portkey.p50)})` : `; Portkey not measured (${r.overhead.portkey.measured ? "" : r.overhead.portkey.reason})`}. First streamed byte: +${ms(lean.ttfbP50 ?? Number.NaN)}${portkey?.ttfbP50 != null ? ` against Portkey's +${ms(portkey.ttfbP50)}` : ""}. At 32 connections: ${int(tput("flowgate") ?? Number.NaN)} req/s${tput("portkey") ? ` against Portkey's ${int(tput("portkey")!)}` : ""}. A cache hit end to end: p50 ${ms(hitSeq?.p50 ?? Number.NaN)}.`,
    );
  }
  if (hit && bare && rlf) {
    lines.push(
      `- **A decision** (\`decide.lua\`, a cache hit): ${us(hit.serverMicros)} of Valkey CPU per call, ${x(hit.serverMicros / bare.serverMicros)} a bare \`EVALSHA\` (${us(bare.serverMicros)}) and ${x(hit.serverMicros / rlf.serverMicros)} rate-limiter-flexible's fixed-window consume (${us(rlf.serverMicros)}): about ${int(1e6 / hit.serverMicros)} decisions per second per Valkey core.`,
    );
  }
  const rt = r.roundTrips;
  const first = (a: number[]) => a[0] ?? Number.NaN;
  lines.push(`- **Round trips per request**, counted on the server: blocked ${first(rt.blocked)}, hit ${first(rt.hit)}, miss ${first(rt.miss)} (the OpenAI door: ${first(rt.v1.blocked)} / ${first(rt.v1.hit)} / ${first(rt.v1.miss)}).`);
  if (stats) {
    lines.push(`- **\`/api/stats\` at ${int(stats.keys)} keys**: p50 ${ms(stats.latency.p50)}, ${x(stats.latency.p50 / stats.emptyLatency.p50)} the same app on an empty Valkey; it reads a fixed set of keys, never the keyspace.`);
  }
  lines.push(
    `- **The dashboard in Lighthouse ${lh.version}**: mobile ${lh.mobile.performance} (TBT ${int(lh.mobile.totalBlockingTime)} ms), desktop ${lh.desktop.performance} (TBT ${int(lh.desktop.totalBlockingTime)} ms); a page of the same build with no client component scored ${lh.floor.mobile.performance} (TBT ${int(lh.floor.mobile.totalBlockingTime)} ms) and ${lh.floor.desktop.performance} (TBT ${int(lh.floor.desktop.totalBlockingTime)} ms) in the same run.`,
  );
  return lines.join("\n");
}

/** The README's one line. */
export function renderReadmeLine(r: BenchResults): string {
  const lean = r.overhead.overhead.flowgate;
  const portkey = r.overhead.portkey.measured ? r.overhead.overhead.portkey : undefined;
  const hit = r.decision.contenders.find((k) => k.name === "decide-hit");
  const before = r.decision.contenders.find((k) => k.name === "decide-hit-before");
  const parts = [
    `One round trip to Valkey for a refusal or a cache hit, two for a miss`,
    lean ? `${ms(lean.p50)} added at p50 over a direct call${portkey ? ` (Portkey's gateway: ${ms(portkey.p50)})` : ""}` : "",
    hit ? `${us(hit.serverMicros)} of Valkey CPU per decision${before ? ` (${x(hit.serverMicros / before.serverMicros)} the script before issue 13's pass over its Lua, same run)` : ""}` : "",
  ].filter(Boolean);
  return `${parts.join("; ")}: \`npm run bench\` on ${r.startedAt.slice(0, 10)}, a shared ${r.machine.cpus}-core ${cpuName(r)} machine ([figures](docs/benchmarks.md)).`;
}

/** Replaces what stands between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in a file; throws when the markers are missing. */
export function writeBetweenMarkers(file: string, name: string, text: string): void {
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const source = readFileSync(file, "utf8");
  const from = source.indexOf(open);
  const to = source.indexOf(close);
  if (from < 0 || to < from) throw new Error(`${file} has no ${open} … ${close} block for the bench to fill`);
  writeFileSync(file, `${source.slice(0, from + open.length)}\n${text}\n${source.slice(to)}`);
}
