import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decideRequest } from "@/lib/gateway/rate-limit";
import { policyFor } from "@/lib/gateway/policy";
import { createValkeyClient } from "@/lib/valkey/client";
import { createKeySpace } from "@/lib/valkey/keys";
import { generateRequest, loadApp } from "../support/app";
import { freePort, startValkey } from "../support/valkey-server";

/**
 * The decision stream's two consumers, `npm run tail` and `npm run export`,
 * run as the npm scripts run them (node --conditions=react-server --import
 * tsx), against the suite's real Valkey, on decisions made by decide.lua
 * itself (decideRequest, or the /api/generate handler).
 */

const root = path.resolve(import.meta.dirname, "../..");
const valkeyUrl = inject("valkeyUrl");
const work = mkdtempSync(path.join(os.tmpdir(), "flowgate-streams-"));
const children = new Set<ChildProcess>();

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

function runScript(script: "tail" | "export", args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", `scripts/${script}.ts`, ...args], {
    cwd: root,
    env: { ...process.env, LOG_VALKEY_ERRORS: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const data = readFileSync(file);
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n += 1;
  return n;
}

interface ExportLine {
  stream: string;
  entryId: string;
  missedBefore?: number;
  requestId: string;
  type: string;
  identity: string;
}

function readExport(file: string): ExportLine[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ExportLine);
}

/** The last summary line an exporter printed. */
function summary(stderr: string): { exported: number; missed: number; lag: number } {
  const lines = stderr.split("\n").filter((l) => l.includes("done: exported"));
  const m = /done: exported (\d+) \(\d+ this run\), missed (\d+), lag (\d+)/.exec(lines[lines.length - 1] ?? "");
  if (!m) throw new Error(`no summary in:\n${stderr}`);
  return { exported: Number(m[1]), missed: Number(m[2]), lag: Number(m[3]) };
}

async function readyClient(url: string) {
  const client = createValkeyClient(url, { connectTimeoutMs: 5000, commandTimeoutMs: 10_000, logErrors: false });
  await until("the producer's connection", () => client.status === "ready", 10_000);
  return client;
}

/**
 * Decisions through decide.lua: each identity's first request is admitted
 * (a miss: its event would come from store.lua, which this producer never
 * calls), every later one is refused and logged. So after `warm`, every call
 * is exactly one stream entry, with request id `rq-<n>`.
 */
/** Valkey's stream-node-max-entries (default): MAXLEN ~ keeps at most one node of entries beyond the cap. */
const STREAM_NODE_ENTRIES = 100;

function producer(client: Redis, prefix: string, options: { shards: number; streamCap: number; identities: number }) {
  const keys = createKeySpace(prefix);
  const policy = policyFor("anonymous", { limit: 1, windowMs: 600_000 });
  const identityOf = (i: number) => ({ id: `ip:198.51.${Math.floor(i / 256) % 256}.${i % 256}`, kind: "ip" as const, tier: "anonymous" as const });
  const decide = (identity: number, requestId: string) =>
    decideRequest({
      client,
      keys,
      shards: options.shards,
      identity: identityOf(identity),
      policy,
      requestId,
      promptHash: "cd".repeat(32),
      promptTokens: 3,
      streamCap: options.streamCap,
      lockTtlMs: 0,
      now: Date.now(),
    });
  return {
    async warm() {
      const decisions = await Promise.all(Array.from({ length: options.identities }, (_, i) => decide(i, `warm-${i}`)));
      expect(decisions.every((d) => d.allowed)).toBe(true);
    },
    /** Refused decisions rq-<from> … rq-<to − 1>, `concurrency` at a time. */
    async produce(from: number, to: number, concurrency = 64) {
      for (let start = from; start < to; start += concurrency) {
        const end = Math.min(to, start + concurrency);
        const decisions = await Promise.all(
          Array.from({ length: end - start }, (_, k) => decide((start + k) % options.identities, `rq-${start + k}`)),
        );
        expect(decisions.every((d) => !d.allowed)).toBe(true);
      }
    },
  };
}

let inspect: Redis;
beforeAll(async () => {
  inspect = new Redis(valkeyUrl, { maxRetriesPerRequest: 1 });
  inspect.on("error", () => {});
});
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  inspect.disconnect();
  rmSync(work, { recursive: true, force: true });
});

const freshPrefix = () => `t${randomBytes(4).toString("hex")}:`;

async function streamInfo(key: string, on: Redis = inspect): Promise<{ length: number; added: number }> {
  const reply = (await on.xinfo("STREAM", key)) as unknown[];
  const info: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) info[String(reply[i])] = reply[i + 1];
  return { length: Number(info.length), added: Number(info["entries-added"]) };
}

describe("npm run export", () => {
  it("writes each of 20,000 decisions exactly once though it is killed -9 twice mid-stream and stopped once", async () => {
    const prefix = freshPrefix();
    const shards = 2;
    const total = 20_000;
    const out = path.join(work, "exactly-once.ndjson");
    // A server of its own: 20,000 decisions at once would slow the suite's shared one for the files beside it.
    const server = await startValkey();
    const look = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const env = { VALKEY_URL: server.url, VALKEY_PREFIX: prefix, VALKEY_SHARDS: String(shards) };
    const client = await readyClient(server.url);
    try {
      // 50,000 entries per shard: nothing is trimmed, so every decision must reach the file.
      const make = producer(client, prefix, { shards, streamCap: 100_000, identities: 500 });
      await make.warm();
      const exporter = (extra: string[] = []) => runScript("export", ["--out", out, "--batch", "500", "--progress-ms", "0", ...extra], env);
      const keys = createKeySpace(prefix);
      const first = keys.events(0);

      // A backlog, then the state a crash leaves, made by hand on shard 0: 300 entries delivered to the
      // exporter's consumer, the first 200 of them in the file, the 201st half written; 50 more pending
      // with a consumer of another name (an earlier --consumer).
      await make.produce(0, 6000);
      await look.xgroup("CREATE", first, "flowgate-export", "0");
      const delivered = (await look.xreadgroup("GROUP", "flowgate-export", "exporter", "COUNT", 300, "STREAMS", first, ">")) as [string, [string, string[]][]][];
      const entries = delivered[0]![1];
      expect(entries).toHaveLength(300);
      const asLine = ([entryId, fields]: [string, string[]]) => {
        const f = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
        return `${JSON.stringify({ stream: first, entryId, requestId: f.id, type: f.type, identity: f.who })}\n`;
      };
      writeFileSync(out, entries.slice(0, 200).map(asLine).join("") + asLine(entries[200]!).slice(0, 40));
      await look.xreadgroup("GROUP", "flowgate-export", "old-exporter", "COUNT", 50, "STREAMS", first, ">");

      // Killed -9 while it works through the backlog and the producer goes on.
      let run = exporter(["--idle-exit-ms", "60000"]);
      let producing = make.produce(6000, 10_000);
      await until("the first exporter's lines", () => countLines(out) >= 1500);
      run.child.kill("SIGKILL");
      expect(await run.exited).toBeNull();
      expect(run.stderr()).toContain("cut a partial last line");
      expect(run.stderr()).toContain(
        "settled 350 pending entries (50 taken over from other consumers): 200 already in the file (acknowledged only), 150 written now, 0 trimmed",
      );
      await producing;

      // A new backlog, and again killed -9 mid-way.
      await make.produce(10_000, 13_000);
      const before = countLines(out);
      run = exporter(["--idle-exit-ms", "60000"]);
      producing = make.produce(13_000, 16_000);
      await until("the second exporter's lines", () => countLines(out) >= before + 2000);
      run.child.kill("SIGKILL");
      expect(await run.exited).toBeNull();
      await producing;

      // SIGTERM: the batch in hand is written, fsynced and acknowledged, then a clean exit.
      run = exporter(["--idle-exit-ms", "60000"]);
      await make.produce(16_000, total);
      await until("the third exporter's lines", () => countLines(out) >= 17_000);
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
      expect(readFileSync(out).at(-1)).toBe(10);
      expect(summary(run.stderr()).exported).toBe(countLines(out));
      for (const key of [first, keys.events(1)]) {
        expect(((await look.xpending(key, "flowgate-export")) as [number])[0]).toBe(0);
      }

      // The last one drains and leaves by itself once nothing new arrives.
      run = exporter(["--idle-exit-ms", "1000"]);
      expect(await run.exited).toBe(0);

      const streams = Array.from({ length: shards }, (_, s) => keys.events(s));
      const infos = await Promise.all(streams.map((key) => streamInfo(key, look)));
      const added = infos.reduce((sum, i) => sum + i.added, 0);
      expect(added).toBe(total);
      expect(infos.reduce((sum, i) => sum + i.length, 0)).toBe(total);
      expect(infos.every((i) => i.added > 0)).toBe(true);

      const lines = readExport(out);
      expect(lines).toHaveLength(added);
      const ids = lines.map((l) => l.requestId);
      expect(new Set(ids).size).toBe(total);
      expect(new Set(ids)).toEqual(new Set(Array.from({ length: total }, (_, i) => `rq-${i}`)));
      expect(lines.every((l) => l.type === "blocked" && l.identity.startsWith("ip:198.51.") && streams.includes(l.stream) && l.missedBefore === undefined)).toBe(true);
      // Each stream's lines in entry-ID order, as the stream holds them.
      for (const key of streams) {
        const own = lines.filter((l) => l.stream === key).map((l) => l.entryId);
        const inStream = ((await look.xrange(key, "-", "+")) as [string, string[]][]).map((e) => e[0]);
        expect(own).toEqual(inStream);
        // Nothing left pending in the group.
        const pending = (await look.xpending(key, "flowgate-export")) as [number, ...unknown[]];
        expect(pending[0]).toBe(0);
      }
      expect(summary(run.stderr())).toEqual({ exported: total, missed: 0, lag: 0 });
    } finally {
      client.disconnect();
      look.disconnect();
      await server.stop();
    }
  }, 120_000);

  it("counts exactly the decisions trimmed before it read them, and exports the rest", async () => {
    const prefix = freshPrefix();
    const out = path.join(work, "missed.ndjson");
    const env = { VALKEY_PREFIX: prefix, VALKEY_SHARDS: "1" };
    const client = await readyClient(valkeyUrl);
    try {
      const make = producer(client, prefix, { shards: 1, streamCap: 100, identities: 10 });
      await make.warm();
      // The exporter has never run: 1,000 decisions, of which the stream keeps the last 100, or up
      // to one stream node more (MAXLEN ~ trims whole nodes; a node holds at most 100 entries).
      await make.produce(0, 1000);
      const first = await streamInfo(createKeySpace(prefix).events(0));
      expect(first.added).toBe(1000);
      expect(first.length).toBeGreaterThanOrEqual(100);
      expect(first.length).toBeLessThanOrEqual(100 + STREAM_NODE_ENTRIES);
      const kept = first.length;

      let run = runScript("export", ["--out", out, "--idle-exit-ms", "500"], env);
      expect(await run.exited).toBe(0);
      expect(summary(run.stderr())).toEqual({ exported: kept, missed: 1000 - kept, lag: 0 });
      let lines = readExport(out);
      expect(lines.map((l) => l.requestId)).toEqual(Array.from({ length: kept }, (_, i) => `rq-${1000 - kept + i}`));
      expect(lines[0]?.missedBefore).toBe(1000 - kept);
      expect(lines.slice(1).every((l) => l.missedBefore === undefined)).toBe(true);

      // Stopped again, it falls 250 behind a stream of about 100: the rest are gone, and the count survives the restart.
      await make.produce(1000, 1250);
      const second = await streamInfo(createKeySpace(prefix).events(0));
      expect(second.length).toBeGreaterThanOrEqual(100);
      expect(second.length).toBeLessThanOrEqual(100 + STREAM_NODE_ENTRIES);
      const keptAgain = second.length;
      const exported = kept + keptAgain;
      const missed = 1000 - kept + (250 - keptAgain);
      run = runScript("export", ["--out", out, "--idle-exit-ms", "500"], env);
      expect(await run.exited).toBe(0);
      expect(summary(run.stderr())).toEqual({ exported, missed, lag: 0 });
      lines = readExport(out);
      expect(lines.slice(kept).map((l) => l.requestId)).toEqual(Array.from({ length: keptAgain }, (_, i) => `rq-${1250 - keptAgain + i}`));
      expect(lines[kept]?.missedBefore).toBe(250 - keptAgain);

      // Nothing new: a third run exports nothing and reports the same counts.
      run = runScript("export", ["--out", out, "--idle-exit-ms", "300"], env);
      expect(await run.exited).toBe(0);
      expect(summary(run.stderr())).toEqual({ exported, missed, lag: 0 });
      expect(countLines(out)).toBe(exported);
    } finally {
      client.disconnect();
    }
  }, 60_000);
});

describe("npm run tail", () => {
  it("shows only the decisions its filters ask for, as NDJSON or as plain text off a terminal", async () => {
    const app = await loadApp({ RATE_LIMIT_MAX: "3", RATE_LIMIT_WINDOW_MS: "60000", STREAM_MAXLEN: "1000" });
    try {
      const env = { VALKEY_PREFIX: app.prefix, NO_COLOR: "" };
      const tail = runScript("tail", ["--outcome", "blocked", "--identity", "192.0.2.50", "--json", "--max", "3", "--seconds", "60"], env);
      await until("the tail to start following", () => tail.stderr().includes("following"));

      const send = async (ip: string, n: number) => {
        for (let i = 0; i < n; i++) await (await app.generate.POST(generateRequest("tail prompt", { ip }))).text();
      };
      // A: miss, hit, hit, blocked, blocked. B: hit ×3, blocked ×2. A: blocked: the tail's third and last line.
      await send("192.0.2.50", 5);
      await send("192.0.2.51", 5);
      await send("192.0.2.50", 1);
      expect(await tail.exited).toBe(0);

      const shown = tail.stdout().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; identity: string; requestId: string; inWindow: number; limit: number });
      expect(shown).toHaveLength(3);
      expect(shown.every((e) => e.type === "blocked" && e.identity === "ip:192.0.2.50" && e.limit === 3 && e.inWindow === 3)).toBe(true);
      expect(new Set(shown.map((e) => e.requestId)).size).toBe(3);

      // Everything, from the start, as text: 11 decisions of all three outcomes, no colour off a terminal.
      const all = runScript("tail", ["--from-start", "--max", "11", "--seconds", "30"], env);
      expect(await all.exited).toBe(0);
      const text = all.stdout().split("\n").filter(Boolean);
      expect(text).toHaveLength(11);
      expect(all.stdout()).not.toContain("\x1b[");
      const outcomes = text.map((line) => line.split(/\s+/)[1]);
      expect(outcomes.filter((o) => o === "blocked")).toHaveLength(5);
      expect(outcomes.filter((o) => o === "miss")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "hit")).toHaveLength(5);
      expect(text.find((line) => line.includes(" blocked "))).toMatch(/ip:192\.0\.2\.50\s+anonymous\s+\S+\s+3\/3/);
    } finally {
      await app.close();
    }
  });

  it("waits out a Valkey that goes away mid-run, and resumes with the decisions made after it returns", async () => {
    const valkey = await startValkey();
    const prefix = freshPrefix();
    let client = await readyClient(valkey.url);
    try {
      const tail = runScript("tail", ["--json", "--max", "2", "--seconds", "60"], { VALKEY_URL: valkey.url, VALKEY_PREFIX: prefix });
      await until("the tail to start following", () => tail.stderr().includes("following"));
      const make = () => producer(client, prefix, { shards: 1, streamCap: 1000, identities: 1 });
      await make().warm();
      await make().produce(0, 1);
      await until("the first line", () => tail.stdout().includes("rq-0"));

      await valkey.stop();
      await until("the tail to notice", () => tail.stderr().includes("lost Valkey"), 15_000);
      await valkey.start();
      client.disconnect();
      client = await readyClient(valkey.url);
      // A fresh server (no persistence): the identity is admitted once more, then refused.
      await make().warm();
      await make().produce(1, 2);
      expect(await tail.exited).toBe(0);
      expect(tail.stdout().split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { requestId: string }).requestId)).toEqual(["rq-0", "rq-1"]);
      expect(tail.stderr()).toContain("Valkey answers again");
      expect(tail.stderr()).not.toMatch(/^\s+at /m);
    } finally {
      client.disconnect();
      await valkey.stop();
    }
  }, 60_000);
});

describe("Valkey unreachable at start", () => {
  it("tail and export each say so in one line and exit 1, no stack trace", async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const env = { VALKEY_URL: nobody, VALKEY_PREFIX: freshPrefix() };
    const tail = runScript("tail", [], env);
    const exporter = runScript("export", ["--out", path.join(work, "unreachable.ndjson")], env);
    expect(await tail.exited).toBe(1);
    expect(await exporter.exited).toBe(1);
    for (const run of [tail, exporter]) {
      const lines = run.stderr().split("\n").filter(Boolean);
      const error = lines.find((l) => l.includes("cannot reach Valkey"));
      expect(error).toContain(nobody);
      expect(error).toContain("ECONNREFUSED");
      expect(run.stderr()).not.toMatch(/^\s+at /m);
    }
    // The exporter wrote nothing and left no lock behind.
    expect(countLines(path.join(work, "unreachable.ndjson"))).toBe(0);
    expect(existsSync(path.join(work, "unreachable.ndjson.lock"))).toBe(false);
  });
});
