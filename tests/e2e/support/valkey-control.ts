import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

/**
 * Stops and restarts the e2e suite's private Valkey (started by
 * scripts/e2e-server.mjs, which records how in test-results/e2e-valkey.json).
 */
const stateFile = path.resolve(__dirname, "../../../test-results/e2e-valkey.json");

interface State {
  binary: string;
  args: string[];
  port: number;
  pid: number;
}

const readState = (): State => JSON.parse(readFileSync(stateFile, "utf8")) as State;

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.setTimeout(300, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      socket.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
  });
}

/** Empties the suite's Valkey, for a spec that starts from a fresh server whatever ran before it. */
export async function flushValkey(): Promise<void> {
  const { port } = readState();
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error("Valkey did not answer FLUSHALL"));
    });
    socket.on("error", reject);
    socket.on("connect", () => socket.write("FLUSHALL\r\n"));
    socket.on("data", (d) => {
      socket.destroy();
      if (d.toString().startsWith("+OK")) resolve();
      else reject(new Error(`FLUSHALL answered ${d.toString().trim()}`));
    });
  });
}

export async function stopValkey(): Promise<void> {
  const state = readState();
  try {
    process.kill(state.pid, "SIGKILL");
  } catch {
    // already gone
  }
  const deadline = Date.now() + 5000;
  while ((await answers(state.port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

export async function startValkey(): Promise<void> {
  const state = readState();
  const child = spawn(state.binary, state.args, { stdio: "ignore", detached: true });
  child.unref();
  writeFileSync(stateFile, JSON.stringify({ ...state, pid: child.pid }));
  const deadline = Date.now() + 10_000;
  while (!(await answers(state.port))) {
    if (Date.now() > deadline) throw new Error("Valkey did not come back");
    await new Promise((r) => setTimeout(r, 50));
  }
}
