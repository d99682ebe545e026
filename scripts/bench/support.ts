/**
 * What every bench phase needs: private Valkey servers (the tests' own
 * starter), the production build, the app server on a free port of 3300-3399,
 * and a few INFO readers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";

export { startValkey, type TestValkey } from "../../tests/support/valkey-server";

// tsx runs these files as CommonJS (package.json has no "type": "module").
export const ROOT = path.resolve(__dirname, "../..");
/** The bench's own build; BENCH_DIST_DIR points a phase run on its own at another (e.g. to compare two builds). */
export const DIST_DIR = process.env.BENCH_DIST_DIR || ".next-bench";

const started = Date.now();

/** Progress on stderr, so stdout carries only the table. */
export function log(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/**
 * Waits, at most `maxMs`, until the whole machine (every process, not only
 * this bench's) has been at most `threshold` busy for two seconds running,
 * and returns the share of CPU that was busy in the last second before it
 * went on. Phases that time a browser's main thread (Lighthouse scores its
 * own trace's task lengths) are read at rest, not in the tail of the load
 * the phase before them left behind.
 */
export async function waitForQuiet(opts: { threshold?: number; maxMs?: number } = {}): Promise<number> {
  const threshold = opts.threshold ?? 0.15;
  const deadline = Date.now() + (opts.maxMs ?? 60_000);
  let quietSeconds = 0;
  let last = cpuTimes();
  let share = 1;
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = cpuTimes();
    share = (now.busy - last.busy) / Math.max(1, now.total - last.total);
    last = now;
    quietSeconds = share <= threshold ? quietSeconds + 1 : 0;
    if (quietSeconds >= 2) break;
  }
  return share;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A free port in the range this bench may use (other servers on this machine own 3000-3299). */
export async function freePortInRange(from = 3300, to = 3399): Promise<number> {
  const offset = Math.floor(Math.random() * (to - from + 1));
  for (let i = 0; i <= to - from; i++) {
    const port = from + ((offset + i) % (to - from + 1));
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const kill = () => child.kill("SIGKILL");
    process.once("exit", kill);
    child.once("exit", () => process.off("exit", kill));
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/** `next build` into .next-bench, so a running demo's .next and the tests' .next-test stay as they are. */
export async function buildApp(): Promise<void> {
  await run(process.execPath, [path.join(ROOT, "node_modules", "next", "dist", "bin", "next"), "build"], {
    ...process.env,
    FLOWGATE_DIST_DIR: DIST_DIR,
    NEXT_TELEMETRY_DISABLED: "1",
    NODE_ENV: "production",
  });
}

export function hasBuild(): boolean {
  return existsSync(path.join(ROOT, DIST_DIR, "BUILD_ID"));
}

export interface AppServer {
  url: string;
  port: number;
  /** The server process, for its CPU time. */
  pid: number;
  stop(): Promise<void>;
}

/** server.mjs (the production server; `next start` is not used) on a free port, pointed at a Valkey. */
/** Runs a bench entry point: exit 0 when it resolves, print the error and exit 1 when it throws. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export async function startApp(env: Record<string, string>): Promise<AppServer> {
  const port = await freePortInRange();
  const child: ChildProcess = spawn(process.execPath, ["server.mjs"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      FLOWGATE_DIST_DIR: DIST_DIR,
      PORT: String(port),
      HOST: "127.0.0.1",
      SIMULATED_LATENCY_MS: "0",
      // Production has no demo keys by default; the bench's round-trip count uses demo-free-key.
      API_KEYS: process.env.API_KEYS ?? "demo-free-key:free,demo-pro-key:pro,demo-enterprise-key:enterprise",
      ...env,
    },
  });
  // The server's own log, for when it goes wrong (bench/tmp is ignored by git).
  mkdirSync(path.join(ROOT, "bench", "tmp"), { recursive: true });
  const logFile = path.join(ROOT, "bench", "tmp", `server-${port}.log`);
  const logStream = createWriteStream(logFile);
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
    logStream.write(d);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("exit", (code, signal) => {
    if (!stopping) log(`server.mjs on ${port} exited unexpectedly (${signal ?? code}); its log: ${path.relative(ROOT, logFile)}`);
  });
  let stopping = false;
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server.mjs exited with ${child.exitCode}:\n${output.slice(-4000)}`);
    try {
      const res = await fetch(`${url}/api/stats`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server.mjs did not answer within 60 s:\n${output.slice(-4000)}`);
    await sleep(100);
  }
  return {
    url,
    port,
    pid: child.pid ?? 0,
    async stop() {
      stopping = true;
      process.off("exit", kill);
      await stopChild(child, 5000);
    },
  };
}

export async function serverVersion(redis: Redis): Promise<string> {
  const text = await redis.info("server");
  const name = /^server_name:(\S+)/m.exec(text)?.[1] ?? "redis";
  // Valkey also reports redis_version (7.2.4) for clients that check it.
  const version = /^valkey_version:(\S+)/m.exec(text)?.[1] ?? /^redis_version:(\S+)/m.exec(text)?.[1] ?? "?";
  return `${name} ${version}`;
}
