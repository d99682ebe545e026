/**
 * Overhead over a direct call, beside Portkey (issue 13, goal 1): the same
 * `POST /v1/chat/completions` sent to the upstream itself, through Portkey's
 * gateway and through Flowgate, all three against one local OpenAI-compatible
 * upstream (the tests' fake, answering at once) in a process of its own.
 *
 * Flowgate runs as production runs it (server.mjs on the bench's build) with
 * UPSTREAM_BASE_URL at that upstream, limits on (1,000,000 a minute, so
 * nothing is refused) and two paths: the miss (`Cache-Control: no-cache`:
 * no lookup, the upstream is called, the answer stored; two round trips) and
 * the hit (the same prompt, answered from the cache; one round trip). A
 * second Flowgate with FLOWGATE_LEAN_PATH=0 serves the same routes through
 * Next.js's router, so the lean path's gain is measured in the same run.
 *
 * The figures, taken in turns so this shared machine's noise falls on all:
 * - sequential: one keep-alive connection per target, one request at a
 *   time, the targets interleaved request by request; overhead = the
 *   target's percentile − the direct call's;
 * - paced: an open-loop sender at a fixed rate (requests go out on schedule
 *   whether or not earlier ones have answered; autocannon's overallRate
 *   sends in bursts), latency from the moment each request was sent;
 * - stream: time to the first body byte of `stream: true`;
 * - throughput: autocannon at 32 connections, requests per second, and CPU
 *   per request of the serving process (and, for Flowgate, of Valkey).
 *
 * On its own: node --conditions=react-server --import tsx scripts/bench/overhead.ts [--quick] [--no-build]
 * (BENCH_DIST_DIR=… picks the build; the table goes to stdout, the figures to bench/tmp/overhead.json).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { Client, Pool } from "undici";
import { LEAN_PATH_HEADER } from "../../lib/lean-path.mjs";
import { median, summarize } from "../lib/percentiles";
import { startPortkey, PORTKEY_VERSION, type PortkeyServer } from "./portkey";
import { buildApp, DIST_DIR, hasBuild, log, ROOT, runMain, sleep, startApp, startValkey, stopChild, type AppServer } from "./support";

export type OverheadTargetName = "direct" | "portkey" | "flowgate" | "flowgate-hit" | "flowgate-next" | "flowgate-next-hit";

export interface OverheadOptions {
  /** Requests per target, sequential (the figure: 2,000). */
  sequential: number;
  /** Streamed requests per target, sequential. */
  streams: number;
  /** Open-loop rate, requests per second, and seconds per round. */
  pacedRate: number;
  pacedSeconds: number;
  /** autocannon connections and seconds per round. */
  connections: number;
  throughputSeconds: number;
  /** Rounds of the paced and throughput runs, targets in turn. */
  rounds: number;
  /** Requests per target before anything is timed. */
  warmup: number;
}

export const OVERHEAD_FULL: OverheadOptions = {
  sequential: 2000,
  streams: 500,
  pacedRate: 500,
  pacedSeconds: 4,
  connections: 32,
  throughputSeconds: 5,
  rounds: 2,
  warmup: 300,
};

export const OVERHEAD_QUICK: OverheadOptions = {
  sequential: 300,
  streams: 100,
  pacedRate: 500,
  pacedSeconds: 2,
  connections: 32,
  throughputSeconds: 2,
  rounds: 1,
  warmup: 100,
};

/** Latency percentiles, ms. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface TargetFigures {
  name: OverheadTargetName;
  label: string;
  sequential: Percentiles;
  /** Answers that were not what the target should have sent (status, or x-cache for Flowgate). */
  unexpected: number;
  errors: number;
  paced: (Percentiles & { sent: number; lateSendP99: number }) | null;
  stream: { ttfb: Percentiles; total: Percentiles } | null;
  throughput: { perSecond: number; roundsPerSecond: number[]; non2xx: number; errors: number; cpuMicrosPerRequest: number | null; valkeyMicrosPerRequest: number | null } | null;
}

export interface OverheadResult {
  options: OverheadOptions;
  upstream: string;
  portkey: { measured: true; version: string } | { measured: false; reason: string };
  targets: TargetFigures[];
  /** Target − direct, ms (or requests per second for max, not a difference). */
  overhead: Partial<Record<Exclude<OverheadTargetName, "direct">, { p50: number; p99: number; pacedP99: number | null; ttfbP50: number | null }>>;
}

const BODY = {
  model: "fake-model",
  messages: [{ role: "user", content: "bench: what does a gateway add?" }],
  max_tokens: 16,
};
const JSON_BODY = JSON.stringify(BODY);
const STREAM_BODY = JSON.stringify({ ...BODY, stream: true });

interface Target {
  name: OverheadTargetName;
  label: string;
  origin: string;
  headers: Record<string, string>;
  /** Flowgate's x-cache on every answer, and which path served it (x-flowgate-path: lean, or none: Next.js). */
  cache?: "HIT" | "BYPASS";
  path?: "lean" | "next";
  /** The process that serves it, for CPU per request. */
  pid: number;
  /** Paced and throughput runs; the hit path has the sequential figure only. */
  loaded: boolean;
  streamed: boolean;
}

const PATH = "/v1/chat/completions";

const pick = (s: ReturnType<typeof summarize>): Percentiles => ({ p50: s.p50, p90: s.p90, p99: s.p99, max: s.max });

/** Rotate a list by n: the targets take turns at being first. */
const rotate = <T>(list: readonly T[], n: number): T[] => list.map((_, i) => list[(i + n) % list.length] as T);

function answeredAsExpected(target: Target, status: number, headers: Record<string, string | string[] | undefined>): boolean {
  if (status !== 200) return false;
  if (target.path && (headers[LEAN_PATH_HEADER] === "lean") !== (target.path === "lean")) return false;
  return target.cache === undefined || headers["x-cache"] === target.cache;
}

/** One request on a keep-alive client, whole body read; ms. */
async function timeOne(client: Client | Pool, target: Target, body: string): Promise<{ ms: number; ok: boolean }> {
  const start = performance.now();
  const res = await client.request({ path: PATH, method: "POST", headers: target.headers, body });
  await res.body.arrayBuffer();
  return { ms: performance.now() - start, ok: answeredAsExpected(target, res.statusCode, res.headers) };
}

/** One streamed request: ms to the first body byte and to the end. */
async function timeStream(client: Client, target: Target): Promise<{ ttfb: number; total: number; ok: boolean }> {
  const start = performance.now();
  const res = await client.request({ path: PATH, method: "POST", headers: target.headers, body: STREAM_BODY });
  let ttfb = Number.NaN;
  let text = "";
  for await (const chunk of res.body) {
    if (Number.isNaN(ttfb)) ttfb = performance.now() - start;
    text += (chunk as Buffer).toString();
  }
  const total = performance.now() - start;
  return { ttfb, total, ok: answeredAsExpected(target, res.statusCode, res.headers) && text.includes("[DONE]") };
}

async function measureSequential(targets: Target[], opts: OverheadOptions, streamed: boolean) {
  const list = targets.filter((t) => !streamed || t.streamed);
  const clients = new Map(list.map((t) => [t.name, new Client(t.origin, { pipelining: 1, keepAliveTimeout: 60_000 })]));
  const samples = new Map(list.map((t) => [t.name, { ms: [] as number[], ttfb: [] as number[], unexpected: 0, errors: 0 }]));
  const count = streamed ? opts.streams : opts.sequential;
  try {
    for (let i = -opts.warmup; i < count; i++) {
      for (const target of rotate(list, i + opts.warmup)) {
        const client = clients.get(target.name)!;
        const s = samples.get(target.name)!;
        try {
          if (streamed) {
            const r = await timeStream(client, target);
            if (i < 0) continue;
            s.ttfb.push(r.ttfb);
            s.ms.push(r.total);
            if (!r.ok) s.unexpected++;
          } else {
            const r = await timeOne(client, target, JSON_BODY);
            if (i < 0) continue;
            s.ms.push(r.ms);
            if (!r.ok) s.unexpected++;
          }
        } catch {
          if (i >= 0) s.errors++;
        }
      }
    }
  } finally {
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
  return samples;
}

/**
 * Open loop: request i leaves at start + i / rate whatever happened to the
 * others (a late timer sends what is due at once). Latency is from the moment
 * each was sent; how late the sender itself was is reported beside it.
 */
async function measurePaced(target: Target, rate: number, seconds: number): Promise<{ ms: number[]; late: number[]; unexpected: number; errors: number }> {
  const pool = new Pool(target.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
  const out = { ms: [] as number[], late: [] as number[], unexpected: 0, errors: 0 };
  try {
    // Open the connections a burst would need, so the timed run opens none.
    await Promise.all(Array.from({ length: 16 }, () => timeOne(pool, target, JSON_BODY).catch(() => undefined)));
    const total = Math.round(rate * seconds);
    const interval = 1000 / rate;
    const inflight: Promise<void>[] = [];
    const t0 = performance.now() + 5;
    for (let i = 0; i < total; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait >= 1) await sleep(wait);
      const sent = performance.now();
      out.late.push(Math.max(0, sent - due));
      inflight.push(
        pool.request({ path: PATH, method: "POST", headers: target.headers, body: JSON_BODY }).then(
          async (res) => {
            await res.body.arrayBuffer();
            out.ms.push(performance.now() - sent);
            if (!answeredAsExpected(target, res.statusCode, res.headers)) out.unexpected++;
          },
          () => {
            out.errors++;
          },
        ),
      );
    }
    await Promise.all(inflight);
  } finally {
    await pool.close();
  }
  return out;
}

/** utime + stime of a process, µs (Linux; null elsewhere). */
function cpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

async function valkeyCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? 0);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1_000_000;
}

async function measureThroughput(target: Target, opts: OverheadOptions, valkey: Redis | null) {
  const cpuBefore = cpuMicros(target.pid);
  const valkeyBefore = valkey ? await valkeyCpuMicros(valkey) : 0;
  const r = await autocannon({
    url: `${target.origin}${PATH}`,
    connections: opts.connections,
    duration: opts.throughputSeconds,
    method: "POST",
    headers: target.headers,
    body: JSON_BODY,
  });
  const cpuAfter = cpuMicros(target.pid);
  const valkeyAfter = valkey ? await valkeyCpuMicros(valkey) : 0;
  const ok = r["2xx"];
  return {
    perSecond: ok / r.duration,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    cpuMicros: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
    valkeyMicros: valkey ? valkeyAfter - valkeyBefore : null,
  };
}

/** The upstream in a process of its own; resolves with its base URL (ends in /v1). */
async function startUpstream(): Promise<{ url: string; origin: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "overhead-upstream.ts")], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  let errors = "";
  child.stderr.on("data", (d: Buffer) => (errors = (errors + d.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the upstream did not start within 30 s: ${errors}`)), 30_000);
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`the upstream exited with ${code}: ${errors}`)));
  });
  return {
    url,
    origin: new URL(url).origin,
    pid: child.pid ?? 0,
    async stop() {
      process.off("exit", kill);
      await stopChild(child, 3000);
    },
  };
}

export async function measureOverhead(opts: OverheadOptions): Promise<OverheadResult> {
  const upstream = await startUpstream();
  const valkey = await startValkey();
  const inspect = new Redis(valkey.url);
  let portkey: PortkeyServer | null = null;
  let portkeyStatus: OverheadResult["portkey"];
  let app: AppServer | null = null;
  let viaNext: AppServer | null = null;
  try {
    try {
      portkey = await startPortkey();
      portkeyStatus = { measured: true, version: portkey.version };
    } catch (error) {
      portkeyStatus = { measured: false, reason: (error as Error).message };
      log(`overhead: Portkey not measured: ${portkeyStatus.reason}`);
    }
    const appEnv = {
      VALKEY_URL: valkey.url,
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: "sk-bench-upstream",
      RATE_LIMIT_MAX: "1000000",
    };
    app = await startApp(appEnv);
    // Its own key prefix: the two servers' windows and cache entries stay apart.
    viaNext = await startApp({ ...appEnv, FLOWGATE_LEAN_PATH: "0", VALKEY_PREFIX: "fgnext:" });
    log(`overhead: upstream ${upstream.url}, Portkey ${portkey?.url ?? "—"}, Flowgate ${app.url}, Flowgate through Next.js ${viaNext.url}`);

    const json = { "content-type": "application/json" };
    const targets: Target[] = [
      { name: "direct", label: "direct to the upstream", origin: upstream.origin, headers: { ...json, authorization: "Bearer sk-bench-upstream" }, pid: upstream.pid, loaded: true, streamed: true },
      ...(portkey
        ? [
            {
              name: "portkey" as const,
              label: `Portkey ${PORTKEY_VERSION}`,
              origin: portkey.url,
              headers: { ...json, authorization: "Bearer sk-bench-upstream", "x-portkey-provider": "openai", "x-portkey-custom-host": upstream.url },
              pid: portkey.pid,
              loaded: true,
              streamed: true,
            },
          ]
        : []),
      { name: "flowgate", label: "Flowgate, miss (Cache-Control: no-cache)", origin: app.url, headers: { ...json, "cache-control": "no-cache" }, cache: "BYPASS", path: "lean", pid: app.pid, loaded: true, streamed: true },
      { name: "flowgate-hit", label: "Flowgate, cache hit", origin: app.url, headers: json, cache: "HIT", path: "lean", pid: app.pid, loaded: false, streamed: false },
      {
        name: "flowgate-next",
        label: "Flowgate through Next.js's router (FLOWGATE_LEAN_PATH=0), miss",
        origin: viaNext.url,
        headers: { ...json, "cache-control": "no-cache" },
        cache: "BYPASS",
        path: "next",
        pid: viaNext.pid,
        loaded: true,
        streamed: true,
      },
      { name: "flowgate-next-hit", label: "Flowgate through Next.js's router, cache hit", origin: viaNext.url, headers: json, cache: "HIT", path: "next", pid: viaNext.pid, loaded: false, streamed: false },
    ];
    // The hit path's entry, and a check that every target answers as it should before anything is timed.
    for (const target of targets) {
      const res = await fetch(`${target.origin}${PATH}`, { method: "POST", headers: target.headers, body: JSON_BODY });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${target.label} answered ${res.status}: ${text.slice(0, 300)}`);
    }

    log(`overhead: sequential, ${opts.sequential} requests per target, interleaved`);
    const sequential = await measureSequential(targets, opts, false);
    log(`overhead: streams, ${opts.streams} per target, interleaved`);
    const streams = await measureSequential(targets, opts, true);

    const paced = new Map<OverheadTargetName, { ms: number[]; late: number[]; unexpected: number; errors: number }>();
    const throughput = new Map<OverheadTargetName, { rps: number[]; ok: number; non2xx: number; errors: number; cpu: number | null; valkey: number | null }>();
    const loaded = targets.filter((t) => t.loaded);
    for (let round = 0; round < opts.rounds; round++) {
      for (const target of rotate(loaded, round)) {
        const r = await measurePaced(target, opts.pacedRate, opts.pacedSeconds);
        const p = paced.get(target.name) ?? { ms: [], late: [], unexpected: 0, errors: 0 };
        p.ms.push(...r.ms);
        p.late.push(...r.late);
        p.unexpected += r.unexpected;
        p.errors += r.errors;
        paced.set(target.name, p);
        await sleep(200);
      }
      log(`overhead: paced ${opts.pacedRate}/s, round ${round + 1}/${opts.rounds} done`);
      for (const target of rotate(loaded, round)) {
        const isFlowgate = target.name.startsWith("flowgate");
        const r = await measureThroughput(target, opts, isFlowgate ? inspect : null);
        const t = throughput.get(target.name) ?? { rps: [], ok: 0, non2xx: 0, errors: 0, cpu: 0, valkey: isFlowgate ? 0 : null };
        t.rps.push(r.perSecond);
        t.ok += r.ok;
        t.non2xx += r.non2xx;
        t.errors += r.errors;
        t.cpu = t.cpu === null || r.cpuMicros === null ? null : t.cpu + r.cpuMicros;
        t.valkey = t.valkey === null || r.valkeyMicros === null ? null : t.valkey + r.valkeyMicros;
        throughput.set(target.name, t);
        await sleep(500);
      }
      log(`overhead: max req/s at ${opts.connections} connections, round ${round + 1}/${opts.rounds} done`);
    }

    const figures: TargetFigures[] = targets.map((target) => {
      const s = sequential.get(target.name)!;
      const st = streams.get(target.name);
      const p = paced.get(target.name);
      const t = throughput.get(target.name);
      return {
        name: target.name,
        label: target.label,
        sequential: pick(summarize(s.ms)),
        unexpected: s.unexpected + (st?.unexpected ?? 0) + (p?.unexpected ?? 0),
        errors: s.errors + (st?.errors ?? 0) + (p?.errors ?? 0),
        paced: p ? { ...pick(summarize(p.ms)), sent: p.ms.length + p.errors, lateSendP99: summarize(p.late).p99 } : null,
        stream: st ? { ttfb: pick(summarize(st.ttfb)), total: pick(summarize(st.ms)) } : null,
        throughput: t
          ? {
              perSecond: median(t.rps),
              roundsPerSecond: t.rps.map((v) => Math.round(v)),
              non2xx: t.non2xx,
              errors: t.errors,
              cpuMicrosPerRequest: t.cpu === null || t.ok === 0 ? null : t.cpu / t.ok,
              valkeyMicrosPerRequest: t.valkey === null || t.ok === 0 ? null : t.valkey / t.ok,
            }
          : null,
      };
    });
    const direct = figures.find((f) => f.name === "direct")!;
    const overhead: OverheadResult["overhead"] = {};
    for (const f of figures) {
      if (f.name === "direct") continue;
      overhead[f.name] = {
        p50: f.sequential.p50 - direct.sequential.p50,
        p99: f.sequential.p99 - direct.sequential.p99,
        pacedP99: f.paced && direct.paced ? f.paced.p99 - direct.paced.p99 : null,
        ttfbP50: f.stream && direct.stream ? f.stream.ttfb.p50 - direct.stream.ttfb.p50 : null,
      };
    }
    return { options: opts, upstream: upstream.url, portkey: portkeyStatus, targets: figures, overhead };
  } finally {
    await app?.stop();
    await viaNext?.stop();
    await portkey?.stop();
    inspect.disconnect();
    await valkey.stop();
    await upstream.stop();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  if (!(args.includes("--no-build") && hasBuild())) {
    log(`build: next build into ${DIST_DIR}`);
    await buildApp();
  }
  const loadAverageStart = os.loadavg();
  const result = await measureOverhead(quick ? OVERHEAD_QUICK : OVERHEAD_FULL);
  const { renderOverhead, evaluateOverheadGoals } = await import("./report");
  const goals = evaluateOverheadGoals(result);
  mkdirSync(path.join(ROOT, "bench", "tmp"), { recursive: true });
  writeFileSync(path.join(ROOT, "bench", "tmp", "overhead.json"), `${JSON.stringify({ ...result, goals, loadAverageStart, loadAverageEnd: os.loadavg() }, null, 2)}\n`);
  process.stdout.write(`${renderOverhead(result, goals).join("\n")}\n`);
  log(`load average ${loadAverageStart.map((x) => x.toFixed(1)).join(" ")} at the start, ${os.loadavg().map((x) => x.toFixed(1)).join(" ")} at the end; wrote bench/tmp/overhead.json`);
}

if (require.main === module) runMain(main);
