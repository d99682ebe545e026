/**
 * Starts a real Valkey (or Redis 7) server for a test suite: a free port on
 * 127.0.0.1, no persistence, its own temp folder. The binary comes from
 * FLOWGATE_VALKEY_SERVER (set by scripts/test.sh), else valkey-server or
 * redis-server on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export function findServerBinary(): string {
  const fromEnv = process.env.FLOWGATE_VALKEY_SERVER;
  if (fromEnv) return fromEnv;
  for (const name of ["valkey-server", "redis-server"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  throw new Error(
    "No valkey-server or redis-server found. Run `npm test` (it installs one) or install valkey-server / redis-server.",
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function answers(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let buffer = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("connect", () => socket.write(password ? `AUTH ${password}\r\nPING\r\n` : "PING\r\n"));
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      if (buffer.includes("+PONG")) finish(true);
      else if (buffer.startsWith("-") && buffer.includes("\r\n")) finish(false);
    });
  });
}

export interface TestValkey {
  port: number;
  url: string;
  /** Stop the server (SIGKILL: an outage, not a clean shutdown). */
  stop(): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
  /** Pause (SIGSTOP) and resume (SIGCONT): a server that hangs. */
  pause(): void;
  resume(): void;
}

export async function startValkey(options: { port?: number; extraArgs?: string[]; password?: string } = {}): Promise<TestValkey> {
  const binary = findServerBinary();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(path.join(tmpdir(), "flowgate-valkey-"));
  let child: ChildProcess | null = null;

  const start = async () => {
    child = spawn(
      binary,
      [
        "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes",
        ...(options.password ? ["--requirepass", options.password] : []),
        ...(options.extraArgs ?? []),
      ],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${binary} exited with ${child.exitCode} on port ${port}`);
      if (await answers(port, options.password)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${binary} did not answer on port ${port} within 10 s`);
  };

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    running.kill("SIGCONT");
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGKILL");
    });
  };

  await start();
  const cleanup = () => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", cleanup);

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
  };
}
