/**
 * The peer the overhead phase measures Flowgate beside: Portkey's open-source
 * gateway, installed by the bench into a private folder (never into the
 * app's dependencies) and started as a child process on 127.0.0.1.
 *
 * Pinned: @portkey-ai/gateway 1.15.2, with @hono/node-server held at 1.14.1
 * through npm `overrides` (later 1.x releases break its streaming:
 * Portkey-AI/gateway #1389, #1550). Install scripts are skipped: its only one
 * is `patch-package`, and the published package ships no patches.
 *
 * Everything here is bounded in time; a failure (no registry, a crash) comes
 * back as a reason, so the bench reports "not measured" instead of failing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePortInRange, log, ROOT, sleep, stopChild } from "./support";

export const PORTKEY_VERSION = "1.15.2";
const HONO_NODE_SERVER_VERSION = "1.14.1";
const INSTALL_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 30_000;

/** node_modules/.cache is ignored by git and by the app's build. */
const DIR = path.join(ROOT, "node_modules", ".cache", "flowgate-bench", `portkey-${PORTKEY_VERSION}`);
const ENTRY = path.join(DIR, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");

export interface PortkeyServer {
  url: string;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

function installedVersion(pkg: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(DIR, "node_modules", pkg, "package.json"), "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function isInstalled(): boolean {
  return installedVersion("@portkey-ai/gateway") === PORTKEY_VERSION && installedVersion("@hono/node-server") === HONO_NODE_SERVER_VERSION;
}

/** What a child printed, cut to a one-line reason: npm's error code and message first, else the last lines. */
function tail(text: string): string {
  const lines = text
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !/complete log of this run/.test(line));
  const npmErrors = lines.filter((line) => line.startsWith("npm error"));
  return (npmErrors.length ? npmErrors.slice(0, 2) : lines.slice(-2)).join(" / ").slice(0, 300);
}

/** `npm install --prefix` of a generated package.json that pins both versions. */
async function install(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const manifest = {
    name: "flowgate-bench-portkey",
    private: true,
    description: "Installed by Flowgate's bench (scripts/bench/portkey.ts); safe to delete.",
    dependencies: { "@portkey-ai/gateway": PORTKEY_VERSION },
    overrides: { "@hono/node-server": HONO_NODE_SERVER_VERSION },
  };
  writeFileSync(path.join(DIR, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const args = ["install", "--prefix", DIR, "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", "--fetch-timeout=20000", "--fetch-retries=1"];
  await new Promise<void>((resolve, reject) => {
    const child = spawn("npm", args, { cwd: DIR, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm install did not finish within ${INSTALL_TIMEOUT_MS / 1000} s`));
    }, INSTALL_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`npm install exited with ${code}: ${tail(output)}`));
    });
  });
  if (!isInstalled()) throw new Error(`npm install did not leave @portkey-ai/gateway ${PORTKEY_VERSION} with @hono/node-server ${HONO_NODE_SERVER_VERSION}`);
}

/**
 * Portkey's server listens on every interface and takes no host option; this
 * preload gives its one `listen(port)` the loopback address.
 */
function writeLoopbackPreload(): string {
  const file = path.join(DIR, "listen-on-loopback.mjs");
  writeFileSync(
    file,
    `// Written by Flowgate's bench: Portkey's listen(port) binds 127.0.0.1, not every interface.
import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    if (args[1] === undefined) args[1] = "127.0.0.1";
    else args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
`,
  );
  return file;
}

/** Install if needed, then start Portkey on a free port; throws with a one-line reason. */
export async function startPortkey(): Promise<PortkeyServer> {
  if (!isInstalled()) {
    log(`overhead: installing @portkey-ai/gateway ${PORTKEY_VERSION} into ${path.relative(ROOT, DIR)}`);
    await install();
  }
  if (!existsSync(ENTRY)) throw new Error(`${path.relative(ROOT, ENTRY)} is missing`);
  const preload = writeLoopbackPreload();
  const port = await freePortInRange();
  const child: ChildProcess = spawn(process.execPath, ["--import", preload, ENTRY, `--port=${port}`, "--headless"], {
    cwd: DIR,
    stdio: ["ignore", "pipe", "pipe"],
    // production: no log console, no UI routes.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "production" },
  });
  let output = "";
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-10_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Portkey exited with ${child.exitCode}: ${tail(output)}`);
    try {
      const res = await fetch(`${url}/`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`Portkey did not answer within ${START_TIMEOUT_MS / 1000} s: ${tail(output)}`);
    }
    await sleep(100);
  }
  return {
    url,
    pid: child.pid ?? 0,
    version: PORTKEY_VERSION,
    async stop() {
      process.off("exit", kill);
      await stopChild(child, 3000);
    },
  };
}
