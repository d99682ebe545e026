/**
 * Starts the built app as production runs it (node server.mjs) on a free
 * port, against a given Valkey, and stops it. Used by the tests that need
 * whole processes: several instances, and faults under load. They run after
 * `next build` (scripts/test.sh; FLOWGATE_DIST_DIR picks the build).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "./valkey-server";

const root = path.resolve(__dirname, "../..");

export interface AppServer {
  url: string;
  child: ChildProcess;
  /** What the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startAppServer(options: { valkeyUrl: string; env?: Record<string, string>; timeoutMs?: number }): Promise<AppServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ["server.mjs"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      VALKEY_URL: options.valkeyUrl,
      SIMULATED_LATENCY_MS: "0",
      ...options.env,
    },
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server.mjs exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/api/stats`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server.mjs on ${port} did not answer in time:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
