/**
 * Measures the four limiter algorithms against a private, local
 * valkey-server, in one run:
 *   - admits in the lab's boundary-burst pattern (and the most admitted in
 *     any one window, against the nominal limit),
 *   - memory per client: MEMORY USAGE of one client's key when its window is
 *     full, at limit 10 and at limit 1,000,
 *   - decisions per second: standalone script calls, 64 in flight, spread
 *     over 1,000 clients; plus the full decide.lua (one and three dimensions).
 *
 * Not a test (timings depend on the machine). Run:
 *   node --conditions=react-server --import tsx scripts/lab-bench.ts
 * (react-server: lib/ imports "server-only"). Starts valkey-server on a free
 * 127.0.0.1 port (VALKEY_SERVER overrides the binary) and stops it after.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { policyFor } from "@/lib/gateway/policy";
import { decideRequest } from "@/lib/gateway/rate-limit";
import { runLab } from "@/lib/lab";
import { ALGORITHMS, ALGORITHM_LABELS, type Algorithm } from "@/lib/tiers";
import { createValkeyClient } from "@/lib/valkey/client";
import { createKeySpace } from "@/lib/valkey/keys";
import { ALGORITHM_COMMAND } from "@/lib/valkey/scripts";

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const IN_FLIGHT = 64;
const CLIENTS = 1000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "flowgate-bench-"));
  const binary = process.env.VALKEY_SERVER ?? "/usr/bin/valkey-server";
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: "ignore",
  });
  const stop = () => {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  return { url: `redis://127.0.0.1:${port}`, stop };
}

async function ready(client: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (client.status !== "ready") {
    if (Date.now() > deadline) throw new Error("valkey-server did not come up");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run `total` calls with IN_FLIGHT concurrent; returns calls per second. */
async function throughput(total: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) await call(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function memoryWhenFull(client: Redis, algorithm: Algorithm, limit: number): Promise<number> {
  const key = `bench:mem:${algorithm}:${limit}`;
  const now = 1_800_000_000_000;
  for (let i = 0; i < limit; i++) await client[ALGORITHM_COMMAND[algorithm]](key, now + i, limit, 60_000, 1, `r${i}`, 1000, "1");
  const bytes = Number(await client.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
  await client.del(key);
  return bytes;
}

async function main() {
  const server = await startServer();
  const client = createValkeyClient(server.url, { connectTimeoutMs: 2000, commandTimeoutMs: 5000, logErrors: false });
  try {
    await ready(client);
    const info = await client.info("server");
    const version = /valkey_version:(\S+)/.exec(info)?.[1] ?? /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
    const keys = createKeySpace("bench:");
    const lab = await runLab({ client, keys, request: { limit: 10, windowMs: 60_000 } });

    const rows: string[] = [];
    for (const algorithm of ALGORITHMS) {
      const l = lab.algorithms.find((a) => a.algorithm === algorithm)!;
      const mem10 = await memoryWhenFull(client, algorithm, 10);
      const mem1000 = await memoryWhenFull(client, algorithm, 1000);
      let clock = 1_800_000_000_000;
      const rate = await throughput(CALLS, (i) =>
        client[ALGORITHM_COMMAND[algorithm]](`bench:tp:${algorithm}:${i % CLIENTS}`, (clock += 1), 100, 60_000, 1, `r${i}`, 1000, "1"),
      );
      rows.push(
        `| ${ALGORITHM_LABELS[algorithm]} | ${l.boundaryBurstAdmitted} of 40 | ${l.maxInAnyWindow} (${l.beyondNominal > 0 ? `+${l.beyondNominal}` : "0"}) | ${mem10} B | ${mem1000} B | ${Math.round(rate).toLocaleString("en-US")} |`,
      );
    }

    // The real request path: decide.lua with its counters, event and cache lookup.
    const decideRate = async (tier: "anonymous" | "free") => {
      const policy = policyFor(tier, { limit: 1_000_000, windowMs: 60_000 });
      let clock = 1_800_000_000_000;
      return throughput(CALLS, (i) =>
        decideRequest({
          client,
          keys,
          shards: 1,
          identity: { id: `sim:${tier}:${i % CLIENTS}`, kind: "sim", tier },
          policy,
          requestId: `d${i}`,
          promptHash: "0".repeat(64),
          promptTokens: 10,
          streamCap: 1000,
          lockTtlMs: 0,
          now: (clock += 1),
        }),
      );
    };
    const anonymousRate = await decideRate("anonymous");
    const freeRate = await decideRate("free");

    console.log(`Flowgate limiter bench — valkey ${version} on 127.0.0.1, Node ${process.version}, ${CALLS.toLocaleString("en-US")} calls per figure, ${IN_FLIGHT} in flight, ${CLIENTS} clients`);
    console.log(`Lab pattern (limit 10 / 60 s): ${lab.pattern}.`);
    console.log("");
    console.log("| algorithm | boundary burst admitted | most in one window (beyond 10) | memory / client, limit 10 | memory / client, limit 1,000 | decisions / s |");
    console.log("|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
    console.log("");
    console.log(`decide.lua (counters, event, cache lookup): anonymous (1 dimension) ${Math.round(anonymousRate).toLocaleString("en-US")} / s; free (3 dimensions) ${Math.round(freeRate).toLocaleString("en-US")} / s`);
  } finally {
    client.disconnect();
    server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
