/**
 * `npm run bench`: Flowgate measured beside what it is compared with, in one
 * run, on private Valkey servers and a production build of its own
 * (.next-bench). Writes bench/results.json and bench/RESULTS.md and prints the
 * table. Progress goes to stderr.
 *
 *   npm run bench                 full run (builds first)
 *   npm run bench -- --no-build   reuse .next-bench if it exists
 *   npm run bench -- --quick      smaller and shorter, to check the bench itself
 *
 * The overhead phase (scripts/bench/overhead.ts) also runs on its own:
 *   node --conditions=react-server --import tsx scripts/bench/overhead.ts [--quick] [--no-build]
 * and so does the scale phase (scripts/bench/cluster-scale.ts: one node beside a local 3-master cluster):
 *   node --conditions=react-server --import tsx scripts/bench/cluster-scale.ts [--quick]
 *
 * Order, to keep the timings clean on a shared 2-core machine: the memory
 * phase (bytes, not time) runs beside the build; the timed phases run after
 * it, one at a time; the memory phase's last reading, which waits for the
 * per-minute top-consumer sets to expire, comes at the end.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { TIERS } from "@/lib/tiers";
import { measureDashboard } from "./dashboard";
import { measureClusterScale } from "./cluster-scale";
import { appClient, measureDecisionCost } from "./decision";
import { measureHttp } from "./http";
import { startMemoryPhase } from "./memory";
import { measureOverhead, OVERHEAD_FULL, OVERHEAD_QUICK } from "./overhead";
import { evaluateGoals, renderMarkdown, type BenchResults } from "./report";
import { countRoundTrips } from "./round-trips";
import { measureStatsAtScale } from "./stats-scale";
import { measureLighthouse } from "./lighthouse";
import { renderReadmeLine, renderSummary, writeBetweenMarkers } from "./summary";
import { buildApp, hasBuild, log, ROOT, runMain, serverVersion, startApp, startValkey } from "./support";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const reuseBuild = args.includes("--no-build") && hasBuild();
  const started = Date.now();
  const loadAverageStart = os.loadavg();

  const valkey = await startValkey();
  const memoryValkey = await startValkey();
  const inspect = new Redis(valkey.url);
  const memoryInspect = new Redis(memoryValkey.url);
  const memoryClient = await appClient(memoryValkey.url);
  log(`valkey on ${valkey.port} (timed phases) and ${memoryValkey.port} (memory)`);

  log(reuseBuild ? "build: reusing .next-bench" : "build: next build into .next-bench (the memory phase runs meanwhile)");
  const build = reuseBuild ? Promise.resolve() : buildApp().then(() => log("build: done"));
  const [memory] = await Promise.all([
    startMemoryPhase(memoryInspect, memoryClient, memoryValkey.url, { clients: quick ? 10_000 : 100_000, sampleClients: 1000 }),
    build,
  ]);

  log("decision cost");
  const decision = await measureDecisionCost(valkey.url, { concurrency: 32, roundMs: quick ? 1000 : 2500, rounds: quick ? 2 : 3 });
  await inspect.flushall();

  log("cluster scale: one node beside a local 3-master cluster");
  const scale = await measureClusterScale(valkey.url, { concurrency: 32, roundMs: quick ? 1000 : 2500, rounds: quick ? 2 : 3 });
  await inspect.flushall();

  const appEnv = { RATE_LIMIT_MAX: "1000000", BENCH_ROUTES: "1" };
  const app = await startApp({ ...appEnv, VALKEY_URL: valkey.url });
  // The stats phase's control: the same app on a Valkey that stays empty.
  const emptyValkey = await startValkey();
  const emptyApp = await startApp({ ...appEnv, VALKEY_URL: emptyValkey.url });
  log(`app: server.mjs on ${app.url}, its empty twin on ${emptyApp.url}`);
  try {
    log("round trips");
    const roundTrips = await countRoundTrips(app.url, valkey.url, { samples: 5, limitedKey: "demo-free-key", limitedKeyLimit: TIERS.free.limit });
    log("http");
    const http = await measureHttp(app.url, valkey.url, {
      connections: 16,
      durationSeconds: quick ? 2 : 5,
      rounds: 2,
      limitedKey: "demo-free-key",
      limitedKeyLimit: TIERS.free.limit,
    });
    log("overhead over a direct call, beside Portkey");
    const overhead = await measureOverhead(quick ? OVERHEAD_QUICK : OVERHEAD_FULL);
    log("dashboard");
    const dashboard = await measureDashboard(app.url, { loads: 5 });
    log("lighthouse");
    const lighthouseResult = await measureLighthouse(app.url, { runs: quick ? 1 : 3 });
    log("stats at scale");
    const stats = await measureStatsAtScale({ filled: app.url, empty: emptyApp.url }, inspect, {
      sizes: quick ? [0, 10_000, 100_000] : [0, 100_000, 1_000_000],
      requests: quick ? 100 : 300,
    });
    await app.stop();
    await emptyApp.stop();

    log("memory: last reading");
    const memoryResult = await memory.finish();

    const partial: Omit<BenchResults, "goals"> = {
      startedAt: new Date(started).toISOString(),
      durationSeconds: (Date.now() - started) / 1000,
      command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? "?",
        node: process.version,
        valkey: await serverVersion(inspect),
        loadAverageStart,
        loadAverageEnd: os.loadavg(),
      },
      decision,
      scale,
      roundTrips,
      http,
      overhead,
      stats,
      memory: memoryResult,
      dashboard,
      lighthouse: lighthouseResult,
    };
    const results: BenchResults = { ...partial, goals: evaluateGoals(partial) };
    const markdown = renderMarkdown(results);
    const outDir = path.join(ROOT, "bench");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(path.join(outDir, "RESULTS.md"), markdown);
    writeBetweenMarkers(path.join(ROOT, "docs", "benchmarks.md"), "summary", renderSummary(results));
    writeBetweenMarkers(path.join(ROOT, "README.md"), "line", renderReadmeLine(results));
    process.stdout.write(`${markdown}\n`);
    log(`wrote bench/results.json, bench/RESULTS.md and the summaries in docs/benchmarks.md and README.md in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await app.stop();
    await emptyApp.stop();
    await emptyValkey.stop();
    inspect.disconnect();
    memoryInspect.disconnect();
    memoryClient.disconnect();
    await valkey.stop();
    await memoryValkey.stop();
  }
}

runMain(main);
