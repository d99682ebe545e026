/**
 * Starts a real three-master Valkey Cluster for a test file: three
 * `valkey-server --cluster-enabled yes` processes on free 127.0.0.1 ports, no
 * persistence, one temp folder, joined with `valkey-cli --cluster create`
 * (no replicas), and waits until every node reports cluster_state:ok. The
 * server binary is found as for startValkey (FLOWGATE_VALKEY_SERVER, else
 * PATH); the CLI next to it first, else valkey-cli or redis-cli on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { findServerBinary, freePort } from "./valkey-server";

export function findCliBinary(serverBinary: string): string {
  const dir = path.dirname(serverBinary);
  for (const name of ["valkey-cli", "redis-cli"]) {
    const beside = path.join(dir, name);
    if (existsSync(beside)) return beside;
  }
  for (const name of ["valkey-cli", "redis-cli"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  throw new Error("No valkey-cli or redis-cli found beside the server binary or on PATH: it is needed to create the test cluster.");
}

/** One command to one node over a raw socket (after AUTH when given); resolves with its raw reply. */
function ask(port: number, command: string[], password?: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let buffer = "";
    const finish = (out: string) => {
      socket.destroy();
      resolve(out);
    };
    socket.setTimeout(timeoutMs, () => finish(buffer));
    socket.on("error", () => finish(""));
    const encode = (args: string[]) => `*${args.length}\r\n${args.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join("")}`;
    socket.on("connect", () => socket.write((password ? encode(["AUTH", password]) : "") + encode(command)));
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      if (password && buffer.startsWith("+OK\r\n")) buffer = buffer.slice(5);
      const header = /^\$(\d+)\r\n/.exec(buffer);
      if (header && buffer.length >= header[0].length + Number(header[1]) + 2) finish(buffer);
      else if (/^[+-].*\r\n/.test(buffer)) finish(buffer);
    });
  });
}

export interface TestValkeyCluster {
  ports: number[];
  /** For VALKEY_CLUSTER_NODES. */
  nodes: string;
  stop(): Promise<void>;
}

export async function startValkeyCluster(options: { masters?: number; password?: string } = {}): Promise<TestValkeyCluster> {
  const { password } = options;
  const binary = findServerBinary();
  const cli = findCliBinary(binary);
  const masters = options.masters ?? 3;
  const dir = mkdtempSync(path.join(tmpdir(), "flowgate-cluster-"));
  // Each node needs a client port and a cluster-bus port. The bus port would be
  // port + 10000 by default (past 65535 for half of the OS's free ports), so it
  // is a free port of its own, given with --cluster-port.
  const ports: number[] = [];
  const busPorts: number[] = [];
  while (busPorts.length < masters) {
    const port = await freePort();
    if (ports.includes(port) || busPorts.includes(port)) continue;
    if (ports.length < masters) ports.push(port);
    else busPorts.push(port);
  }
  const children: ChildProcess[] = [];

  const stop = async () => {
    await Promise.all(
      children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", () => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  try {
    for (const [i, port] of ports.entries()) {
      children.push(
        spawn(
          binary,
          [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
            "--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, `nodes-${port}.conf`),
            "--cluster-port", String(busPorts[i]),
            "--cluster-node-timeout", "5000", "--protected-mode", "yes",
            ...(password ? ["--requirepass", password, "--masterauth", password] : []),
          ],
          { stdio: "ignore" },
        ),
      );
    }
    const deadline = Date.now() + 10_000;
    for (const [i, port] of ports.entries()) {
      while (!(await ask(port, ["PING"], password)).startsWith("+PONG")) {
        if (children[i]?.exitCode !== null) throw new Error(`${binary} exited with ${children[i]?.exitCode} on port ${port}`);
        if (Date.now() > deadline) throw new Error(`${binary} did not answer on port ${port} within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    const create = spawnSync(
      cli,
      ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"],
      // The CLI reads the password from REDISCLI_AUTH, so it stays off the command line.
      { encoding: "utf8", timeout: 30_000, env: { ...process.env, ...(password ? { REDISCLI_AUTH: password } : {}) } },
    );
    if (create.status !== 0) {
      throw new Error(`${cli} --cluster create failed (${create.status}): ${create.stdout}\n${create.stderr}`);
    }

    // Every node must agree the cluster is whole before the tests send traffic.
    const okBy = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await ask(port, ["CLUSTER", "INFO"], password)).includes("cluster_state:ok")) {
        if (Date.now() > okBy) throw new Error(`node ${port} did not reach cluster_state:ok within 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(","), stop };
}
