/**
 * `npm run docs:examples`: runs every console example of README.md and
 * docs/api.md against the built server and a throw-away Valkey, and writes
 * each command's real output back in place, so drift shows as a diff.
 *
 * Two servers, as the docs name them: localhost:3000 is the demo (demo keys,
 * FLOWGATE_DEMO, the simulator's 600 ms), localhost:3101 the "second
 * instance" (FAIL_MODE=closed FAIL_MODE_BY_TIER=enterprise:open, an
 * ADMIN_TOKEN). Both listen on free ports; commands are run with the
 * documented address rewritten to the real one and their output is written
 * back with the documented one, so a running demo is never in the way.
 * Every block starts on an empty Valkey (FLUSHALL), blocks run in the docs'
 * order, and a block annotated `valkey=down` runs with its server's Valkey
 * stopped. The annotation format is in scripts/lib/console-examples.ts.
 *
 * What varies between runs is normalised (the normalize* functions: request
 * ids, times, latencies); the rest is kept as printed. The build in
 * .next-docs-examples is redone when a source is newer; `--no-build` uses
 * it as it is.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import {
  EXAMPLE_FILES,
  option,
  parseConsoleBlocks,
  renderCommands,
  type ConsoleBlock,
  type ConsoleCommand,
} from "./lib/console-examples";

// The bench's helpers build into BENCH_DIST_DIR: this run has a build of its own.
const DIST_DIR = ".next-docs-examples";
process.env.BENCH_DIST_DIR = DIST_DIR;

const ROOT = path.resolve(__dirname, "..");
/** The whole run's bound, build excluded. */
const RUN_TIMEOUT_MS = 8 * 60_000;
/** One block's bound. */
const BLOCK_TIMEOUT_MS = 90_000;
const ADMIN_TOKEN = "docs-examples-admin-token";
/** The simulator's latency in `npm run demo` (lib/config.ts's default). */
const SIMULATED_LATENCY_MS = 600;

/**
 * The docs' clock: every time an example prints is shown as if its command
 * ran at this instant (2026-12-01 20:26:00 UTC, Unix ms).
 */
const DOC_NOW = Date.UTC(2026, 11, 1, 20, 26, 0);
const DAY_MS = 86_400_000;

function log(message: string): void {
  process.stderr.write(`[docs:examples] ${message}\n`);
}

// ---------------------------------------------------------------------------
// Normalisation: ids and times
// ---------------------------------------------------------------------------

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const CHATCMPL = /chatcmpl-([0-9a-f]{32})/g;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/** A stable id for the n-th distinct id of a block: a v4-shaped UUID from a hash of where it is. */
function stableUuid(where: string, n: number): string {
  const h = createHash("sha256").update(`${where}#${n}`).digest("hex");
  const variant = "89ab"[parseInt(h[16]!, 16) % 4];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Replaces every request id (and the chatcmpl id made from it) with a stable one, the same id for the same value. */
function normalizeIds(text: string, where: string, seen: Map<string, string>): string {
  const of = (hex32: string) => {
    let id = seen.get(hex32);
    if (!id) seen.set(hex32, (id = stableUuid(where, seen.size + 1)));
    return id;
  };
  return text
    .replace(UUID, (u) => of(u.replace(/-/g, "")))
    .replace(CHATCMPL, (_, hex: string) => `chatcmpl-${of(hex).replace(/-/g, "")}`);
}

const nextUtcMidnight = (ms: number) => (Math.floor(ms / DAY_MS) + 1) * DAY_MS;

/**
 * When a time a command printed falls, as seconds from DOC_NOW. Near the
 * command's start (3 s) is DOC_NOW; a UTC midnight (a daily quota's reset)
 * is DOC_NOW's next midnight; a full window later (60 s, give or take the
 * few seconds a block's earlier requests take) is 60. Anything else is taken
 * to be on the wall clock's minute grid, where a sliding-window counter's
 * windows start, and is measured from the start of the command's minute
 * (DOC_NOW starts a minute too), to the nearest 5 s. Blocks start between :05 and :50 of a
 * minute (alignToMinute), so the two readings never meet.
 */
function offsetFromDocNow(ends: number, startedAt: number): number {
  if (Math.abs(ends - startedAt) <= 3000) return 0;
  if (Math.abs(ends - nextUtcMidnight(startedAt)) <= 3000) return (nextUtcMidnight(DOC_NOW) - DOC_NOW) / 1000;
  if (Math.abs(ends - startedAt - 60_000) <= 3000) return 60;
  // To the nearest 5 s: headers round spans up to whole seconds, and the server's clock read
  // is a little after the command's start; the counters' resets in the docs fall on the 5 s grid.
  return Math.round((ends - Math.floor(startedAt / 60_000) * 60_000) / 5000) * 5;
}

/** A span of time in seconds from the command's start: a short one (3 s at most) rounded, else offsetFromDocNow. */
function normalizeSpan(seconds: number, startedAt: number): number {
  return seconds <= 3 ? Math.round(seconds) : offsetFromDocNow(startedAt + seconds * 1000, startedAt);
}

/** An instant, Unix ms, on the docs' clock. */
const normalizeInstant = (ms: number, startedAt: number) => DOC_NOW + offsetFromDocNow(ms, startedAt) * 1000;

/**
 * Waits, when needed, until the clock is between :05 and :50 of a minute
 * (offsetFromDocNow), or with `start=:SS` until :SS exactly: a block whose
 * spans on the minute grid could also read as a full window (a sliding
 * counter's reset half a minute after the next minute is 60 s away at :30)
 * starts where they cannot.
 */
async function alignToMinute(start: string | undefined): Promise<void> {
  const into = Date.now() % 60_000;
  let wait = into < 5000 ? 5000 - into : into > 50_000 ? 65_000 - into : 0;
  if (start) {
    const at = Number(/^:(\d{2})$/.exec(start)?.[1] ?? Number.NaN) * 1000;
    if (!(at >= 5000 && at <= 50_000)) throw new Error(`start=${start}: use :05 to :50`);
    wait = (at - into + 60_000) % 60_000;
  }
  if (wait) await new Promise((r) => setTimeout(r, wait));
}

/** A measured latency, ms: a multiple of the simulator's latency (0 for a hit, 600 for a miss). */
const normalizeLatency = (ms: number) => Math.round(ms / SIMULATED_LATENCY_MS) * SIMULATED_LATENCY_MS;

/** Within two days of the command: a Unix time, not a count. */
const isNearMs = (n: number, startedAt: number) => Math.abs(n - startedAt) < 2 * DAY_MS;

function parseGoDuration(text: string): number | null {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:([\d.]+)ms)?$/.exec(text);
  if (!m || text === "") return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) + Number(m[4] ?? 0) / 1000;
}

function formatGoDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

const LATENCY_KEYS = new Set(["latencyMs", "durationMs", "roundTripMs", "savedMs", "timeSavedMs", "generationMs"]);
/** A stream entry id: Unix ms, a dash, a sequence number. */
const STREAM_ID = /^(\d{13})-(\d+)$/;

function normalizeJson(value: unknown, startedAt: number, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeJson(v, startedAt));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeJson(v, startedAt, k)]));
  }
  if (typeof value === "number") {
    if (LATENCY_KEYS.has(key)) return normalizeLatency(value);
    if (key === "nextProbeInMs") return normalizeSpan(value / 1000, startedAt) * 1000;
    if (key === "retryAfterSeconds") return normalizeSpan(value, startedAt);
    if (isNearMs(value, startedAt)) return normalizeInstant(value, startedAt);
    if (isNearMs(value * 1000, startedAt)) return normalizeInstant(value * 1000, startedAt) / 1000;
    return value;
  }
  if (typeof value === "string") {
    if (ISO.test(value)) return new Date(normalizeInstant(Date.parse(value), startedAt)).toISOString();
    const entry = STREAM_ID.exec(value);
    if (entry && isNearMs(Number(entry[1]), startedAt)) return `${normalizeInstant(Number(entry[1]), startedAt)}-${entry[2]}`;
    return value.replace(/\b(in|after) (\d+) (s|ms)\b/g, (_, word: string, n: string, unit: string) =>
      unit === "s" ? `${word} ${normalizeSpan(Number(n), startedAt)} s` : `${word} ${normalizeLatency(Number(n))} ms`,
    );
  }
  return value;
}

function normalizeHeader(name: string, value: string, startedAt: number): string {
  switch (name) {
    case "retry-after":
      return value.replace(/\d+/g, (n) => String(normalizeSpan(Number(n), startedAt)));
    case "retry-after-ms":
      return String(normalizeSpan(Number(value) / 1000, startedAt) * 1000);
    case "ratelimit":
      // t is rounded up to whole seconds: a token bucket's next token, a few ms away, reads 1 or 0
      // depending on the millisecond; both are shown as 0, as x-ratelimit-reset-tokens shows 0s.
      return value.replace(/;t=(\d+)/g, (_, n: string) => `;t=${Number(n) <= 1 ? 0 : normalizeSpan(Number(n), startedAt)}`);
    case "x-ratelimit-reset":
      return String(normalizeInstant(Number(value) * 1000, startedAt) / 1000);
    case "x-ratelimit-reset-requests":
    case "x-ratelimit-reset-tokens": {
      const seconds = parseGoDuration(value);
      return seconds === null ? value : formatGoDuration(normalizeSpan(seconds, startedAt));
    }
    default:
      return value;
  }
}

// ---------------------------------------------------------------------------
// Cuts: the abbreviations the annotation asks for
// ---------------------------------------------------------------------------

/** Present in every answer and left out unless `headers=` names them (the docs say so above the examples). */
const ALWAYS_LEFT_OUT = new Set([
  "x-content-type-options", "referrer-policy", "x-frame-options", "permissions-policy",
  "vary", "date", "connection", "keep-alive", "transfer-encoding", "content-length",
  // Which way server.mjs routed the request (lib/lean-path.mjs): plumbing, on every gateway answer.
  "x-flowgate-path",
]);

function headerMatches(name: string, globs: string[]): boolean {
  return globs.some((g) => (g.endsWith("*") ? name.startsWith(g.slice(0, -1)) : name === g));
}

const CUT_ARRAY = "\u0001[]";
const CUT_OBJECT = "\u0001{}";
const CUT_REST = "\u0001rest";
const DROPPED = "\u0001dropped";

/** Applies one `json=` path to a parsed value (in place); a path that is not there is left alone. */
function cutJson(root: unknown, spec: string): void {
  const drop = spec.startsWith("-");
  const m = /^(.*?)(?:\[(\d+):\])?$/.exec(drop ? spec.slice(1) : spec)!;
  const keys = m[1]!.split(".");
  const last = keys.pop()!;
  let parent: unknown = root;
  for (const k of keys) parent = parent && typeof parent === "object" ? (parent as Record<string, unknown>)[k] : undefined;
  if (!parent || typeof parent !== "object" || !(last in parent)) return;
  const obj = parent as Record<string, unknown>;
  const value = obj[last];
  if (drop) {
    // Keep the member's place: the serialiser writes `…` there.
    const entries = Object.entries(obj);
    for (const [k] of entries) delete obj[k];
    for (const [k, v] of entries) obj[k === last ? `${DROPPED}${k}` : k] = k === last ? 0 : v;
  } else if (m[2] !== undefined) {
    if (Array.isArray(value) && value.length > Number(m[2])) obj[last] = [...value.slice(0, Number(m[2])), CUT_REST];
  } else if (Array.isArray(value)) obj[last] = CUT_ARRAY;
  else if (value && typeof value === "object") obj[last] = CUT_OBJECT;
  else if (typeof value === "string") {
    const end = value.indexOf(". ");
    if (end > 0) obj[last] = `${value.slice(0, end + 1)} …`;
  }
}

/** JSON.stringify with the cuts written as `[…]`, `{…}`, `, …` and, for dropped members, `…` in their place. */
function stringifyCut(value: unknown): string {
  return JSON.stringify(value)
    .replace(/"\\u0001\[\]"/g, "[…]")
    .replace(/"\\u0001\{\}"/g, "{…}")
    .replace(/,"\\u0001rest"/g, ", …")
    .replace(/"\\u0001dropped[^"]*":0/g, "…")
    .replace(/…(,…)+/g, "…");
}

function renderJson(value: unknown, cuts: string[]): string {
  for (const spec of cuts) cutJson(value, spec);
  return stringifyCut(value);
}

function tryJson(text: string): unknown {
  if (!/^[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A body: JSON, SSE or NDJSON normalised and cut; anything else line by line. */
function renderBody(body: string, startedAt: number, cuts: string[], events: string | undefined): string {
  if (cuts.includes("*")) return "…";
  const whole = tryJson(body);
  if (whole !== undefined) return renderJson(normalizeJson(whole, startedAt), cuts);
  const line = (text: string) => {
    const prefix = text.startsWith("data: ") ? "data: " : "";
    const json = tryJson(text.slice(prefix.length));
    if (json !== undefined) return prefix + renderJson(normalizeJson(json, startedAt), cuts);
    return text.replace(/\b(after) (\d+) ms\b/g, (_, w: string, n: string) => `${w} ${normalizeLatency(Number(n))} ms`);
  };
  const sse = body.startsWith("data: ");
  let items = sse ? body.split(/\n\n+/).filter(Boolean) : body.split("\n");
  items = items.map(line);
  if (events) {
    const [head, tail] = events.split("+").map(Number) as [number, number];
    if (items.length > head + tail) items = [...items.slice(0, head), "…", ...items.slice(items.length - tail)];
  }
  if (!sse) return items.join("\n");
  return items.map((e, i) => (e === "…" || i === items.length - 1 ? e : `${e}\n`)).join("\n");
}

function renderOutput(raw: string, block: ConsoleBlock, n: number, startedAt: number): string {
  const text = raw.replace(/\r/g, "").replace(/\s+$/, "");
  const cuts = (option(block, "json", n) ?? "").split(",").filter(Boolean);
  const events = option(block, "events", n);
  if (!text.startsWith("HTTP/")) return renderBody(text, startedAt, cuts, events);
  const split = text.indexOf("\n\n");
  const head = (split < 0 ? text : text.slice(0, split)).split("\n");
  const body = split < 0 ? "" : text.slice(split + 2);
  const status = head[0]!;
  const headers = head
    .slice(1)
    .map((line) => {
      const at = line.indexOf(":");
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()] as const;
    })
    .filter(([name]) => !ALWAYS_LEFT_OUT.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const globs = option(block, "headers", n)?.split(",");
  const lines = [status];
  for (const [name, value] of headers) {
    if (!globs || headerMatches(name, globs)) lines.push(`${name}: ${normalizeHeader(name, value, startedAt)}`);
    else if (lines[lines.length - 1] !== "…") lines.push("…");
  }
  const shown = body === "" ? "" : renderBody(body, startedAt, cuts, events);
  // A body cut whole after headers that end in a cut is one `…`, not two.
  if (shown === "" || (shown === "…" && lines[lines.length - 1] === "…")) return lines.join("\n");
  return `${lines.join("\n")}\n\n${shown}`;
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

interface Instance {
  documented: string;
  actual: string;
  valkey: { url: string; stop(): Promise<void>; start(): Promise<void> };
  app: { url: string; stop(): Promise<void> };
}

function runShell(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const kill = () => child.pid && process.kill(-child.pid, "SIGKILL");
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`a block ran past ${BLOCK_TIMEOUT_MS / 1000} s:\n${out.slice(-2000)}`));
    }, BLOCK_TIMEOUT_MS);
    process.once("exit", kill);
    child.on("exit", () => {
      clearTimeout(timer);
      process.off("exit", kill);
      resolve(out);
    });
  });
}

const MARK = "@@docs-example";

async function runBlock(block: ConsoleBlock, index: number, instances: Instance[]): Promise<ConsoleCommand[]> {
  const rewrite = (text: string) => instances.reduce((t, i) => t.split(i.documented).join(i.actual), text);
  const unrewrite = (text: string) => instances.reduce((t, i) => t.split(i.actual).join(i.documented), text);
  const script = [
    ...block.commands.map((c, i) => `printf '\\n${MARK} ${i + 1} %s@@\\n' "$(date +%s%3N)"\n${rewrite(c.text)}`),
    `printf '\\n${MARK} end@@\\n'`,
  ].join("\n");
  const out = await runShell(script, { ...process.env, ADMIN_TOKEN, FORCE_COLOR: "0", NO_COLOR: "1" });
  const parts = out.split(new RegExp(`\\n?${MARK} `)).slice(1);
  if (parts.length !== block.commands.length + 1) throw new Error(`${block.file}:${block.start + 1}: the block's shell stopped early:\n${out.slice(-2000)}`);
  const ids = new Map<string, string>();
  return block.commands.map((c, i) => {
    const part = parts[i]!;
    const m = /^(\d+) (\d+)@@\n?/.exec(part)!;
    const output = renderOutput(unrewrite(part.slice(m[0].length)), block, i + 1, Number(m[2]));
    return { ...c, output: normalizeIds(output, `${block.file}#${index}`, ids) };
  });
}

/** The build is older than a source it is made from. */
function buildIsStale(): boolean {
  let built: number;
  try {
    built = statSync(path.join(ROOT, DIST_DIR, "BUILD_ID")).mtimeMs;
  } catch {
    return true;
  }
  const newer = (p: string): boolean => {
    const full = path.join(ROOT, p);
    let st;
    try {
      st = statSync(full);
    } catch {
      return false;
    }
    if (!st.isDirectory()) return st.mtimeMs > built;
    return readdirSync(full).some((name) => newer(path.join(p, name)));
  };
  return ["app", "lib", "components", "public", "proxy.ts", "instrumentation.ts", "next.config.ts", "package-lock.json"].some(newer);
}

async function main(): Promise<void> {
  const support = await import("./bench/support");
  const { startValkey, startApp, buildApp } = support;
  if (process.argv.includes("--no-build") ? !support.hasBuild() : buildIsStale()) {
    log(`building into ${DIST_DIR} (next build, 1-2 min)`);
    await buildApp();
  }
  const deadline = setTimeout(() => {
    log(`stopped: the run took more than ${RUN_TIMEOUT_MS / 60_000} min`);
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  deadline.unref();

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(143)));
  try {
    const demoEnv = {
      FLOWGATE_DEMO: "true",
      API_KEYS: "demo-free-key:free,demo-pro-key:pro,demo-enterprise-key:enterprise",
      SIMULATED_LATENCY_MS: String(SIMULATED_LATENCY_MS),
    };
    const instances: Instance[] = [];
    for (const [documented, env] of [
      ["localhost:3000", {}],
      ["localhost:3101", { FAIL_MODE: "closed", FAIL_MODE_BY_TIER: "enterprise:open", ADMIN_TOKEN }],
    ] as const) {
      const valkey = await startValkey();
      stops.push(valkey.stop);
      const app = await startApp({ ...demoEnv, ...env, VALKEY_URL: valkey.url });
      stops.push(app.stop);
      instances.push({ documented, actual: app.url.replace(/^http:\/\//, ""), valkey, app });
      log(`${documented} is ${app.url}`);
    }

    for (const file of EXAMPLE_FILES) {
      const full = path.join(ROOT, file);
      const lines = readFileSync(full, "utf8").split("\n");
      const blocks = parseConsoleBlocks(file, lines.join("\n"));
      // Bottom up, so earlier blocks' line numbers hold while later ones change length.
      const results: { block: ConsoleBlock; commands: ConsoleCommand[] }[] = [];
      for (const [index, block] of blocks.entries()) {
        if (option(block, "run") === "no") continue;
        const used = instances.filter((i) => block.commands.some((c) => c.text.includes(i.documented)));
        await prepare(used, option(block, "valkey") === "down");
        await alignToMinute(option(block, "start"));
        log(`${file}:${block.start + 1} (${block.commands.length} command${block.commands.length === 1 ? "" : "s"})`);
        try {
          results.push({ block, commands: await runBlock(block, index, instances) });
        } finally {
          if (option(block, "valkey") === "down") for (const i of used) await i.valkey.start();
        }
      }
      for (const { block, commands } of results.reverse()) {
        lines.splice(block.start + 1, block.end - block.start - 1, ...renderCommands(commands));
      }
      writeFileSync(full, lines.join("\n"));
    }
    log("done: `git diff` shows what changed");
  } finally {
    await stopAll();
  }
}

/** Every block starts on an empty Valkey, with its server connected (or, for `valkey=down`, with that Valkey stopped). */
async function prepare(used: Instance[], down: boolean): Promise<void> {
  for (const instance of used) {
    const client = new Redis(instance.valkey.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    await client.flushall();
    await client.quit();
    // Wait until the server answers health 200: its Valkey connection and breaker are back.
    const until = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`${instance.app.url}/api/health`).catch(() => null);
      await res?.body?.cancel();
      if (res?.status === 200) break;
      if (Date.now() > until) throw new Error(`${instance.documented}'s health is not 200 after 20 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (down) {
      await instance.valkey.stop();
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
