/**
 * `npm run export -- --out decisions.ndjson`: every decision, exactly once,
 * appended to an NDJSON file by a consumer in a Valkey consumer group.
 *
 * The contract, per analytics stream (keys.events of each shard):
 *
 * - A line is written and fsynced before its entry is XACKed, so an entry
 *   the group considers done is on disk.
 * - On start (and after every lost connection) the exporter reads its
 *   pending entries again (XREADGROUP … 0, after XAUTOCLAIMing those of any
 *   other consumer of the group) and XACKs, without writing again, those the
 *   file already holds: delivery is in entry-ID order and the file is written
 *   in that order, so "in the file" is "ID ≤ the last ID the file holds for
 *   that stream". A partial last line (a kill mid-write) is cut off first.
 * - Entries trimmed by the stream's MAXLEN before they were delivered are
 *   missed, and counted exactly: the streams see no XDEL, so the entries
 *   ever trimmed are XINFO STREAM's `entries-added` − `length`. While the
 *   file's last ID is older than the stream's first entry, every entry the
 *   file holds was among those trimmed, so missed = trimmed − exported. The
 *   XINFO and the read it guards run in one MULTI, so nothing is trimmed in
 *   between. (The group's `entries-read` counts deliveries and does not jump
 *   over trimmed entries: it cannot tell.) The first line after a gap carries
 *   `missedBefore`, the size of the gap, so the file alone tells the running
 *   counts after a restart; a gap no line follows yet is found again.
 *
 * One exporter per group and file at a time: a lock file beside the output
 * (`<out>.lock`, the writer's pid) refuses a second one.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, fstatSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { toActivityEvent } from "@/lib/stats/snapshot";
import { fatalValkeyError, isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import { createKeySpace } from "@/lib/valkey/keys";
import { BACKOFF_MS, BLOCK_MS, openStreamClient, reason, shownUrl, sleep, startCli, waitReady } from "./lib/stream-client";

const USAGE = `Usage: npm run export -- --out FILE [options]

Appends every gateway decision to FILE as one JSON line (stream, entryId and
the decision's fields), exactly once, as a consumer in a Valkey consumer
group. Stop it and start it again at will (even kill -9): it resumes where the
file ends, and never writes a decision twice or loses one it was given.

  --out FILE          the NDJSON file to append to (required)
  --group NAME        consumer group (default flowgate-export; created at the
                      start of each stream if missing)
  --consumer NAME     consumer name (default exporter): keep it stable
  --batch N           entries per read and fsync (default 1000)
  --progress-ms N     progress line on stderr every N ms (default 5000; 0 = none)
  --idle-exit-ms N    exit once no new decision arrived for N ms
  -h, --help          this help

Decisions trimmed from a stream (STREAM_MAXLEN) before the exporter read them
are reported as missed, exactly. SIGINT/SIGTERM finish the batch in hand
(write, fsync, ack) and exit 0.

Valkey: VALKEY_URL (default redis://127.0.0.1:6380, the one \`npm run demo\`
starts), VALKEY_PREFIX and VALKEY_SHARDS as the gateway uses them.
`;

/** How long one idle XREAD waits for news, ms: also the longest a stop waits. */

export interface ExportOptions {
  out: string;
  group: string;
  consumer: string;
  batch: number;
  progressMs: number;
  idleExitMs: number | null;
  help: boolean;
}

class UsageError extends Error {}

function whole(name: string, raw: string | undefined, fallback: number | null, min: number): number | null {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, not "${raw}"`);
  return n;
}

export function parseExportArgs(argv: string[]): ExportOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: "string", short: "o" },
        group: { type: "string" },
        consumer: { type: "string" },
        batch: { type: "string" },
        "progress-ms": { type: "string" },
        "idle-exit-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { out: "", group: "", consumer: "", batch: 0, progressMs: 0, idleExitMs: null, help: true };
  if (!v.out) throw new UsageError("--out FILE is required");
  for (const [name, value] of [["group", v.group], ["consumer", v.consumer]] as const) {
    if (value !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(value)) {
      throw new UsageError(`--${name} must be 1-64 letters, digits, _ . : -`);
    }
  }
  return {
    // `npm run` works in the project root; a relative --out means the caller's directory (npm's INIT_CWD).
    out: path.resolve(process.env.INIT_CWD ?? process.cwd(), v.out),
    group: v.group ?? "flowgate-export",
    consumer: v.consumer ?? "exporter",
    batch: whole("batch", v.batch, 1000, 1) as number,
    progressMs: whole("progress-ms", v["progress-ms"], 5000, 0) as number,
    idleExitMs: whole("idle-exit-ms", v["idle-exit-ms"], null, 1),
    help: false,
  };
}

/** Stream entry IDs ("ms-seq") in order; "0-0" is before every entry. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}

/** What the exporter knows of one stream. */
interface StreamState {
  key: string;
  /** Newest entry ID the file holds from this stream ("0-0": none). */
  lastId: string;
  /** Lines the file holds from this stream. */
  exported: number;
  /** Entries trimmed before delivery, all told. */
  missed: number;
  /** Missed entries not yet written down (the next line's missedBefore). */
  unrecordedMissed: number;
  /** From the latest XINFO STREAM: entries ever added. */
  added: number;
  /** Newest entry ID the group has handed this exporter: where waiting for news starts. */
  position: string;
}

/**
 * A line's head, as `toLine` writes it: the scan at start-up reads these
 * fields without parsing the whole line.
 */
const LINE_HEAD = /^\{"stream":("(?:[^"\\]|\\.)*"),"entryId":"(\d+-\d+)"(?:,"missedBefore":(\d+))?[,}]/;

type Entry = [id: string, fields: string[] | null];

/** One entry as a line: stream and ID first (see LINE_HEAD), then the decision as the dashboard reads it. */
function toLine(key: string, entry: Entry, missedBefore: number): string {
  const head: Record<string, unknown> = { stream: key, entryId: entry[0] };
  if (missedBefore > 0) head.missedBefore = missedBefore;
  const event = toActivityEvent(entry);
  const fields = entry[1] ?? [];
  const raw: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) raw[String(fields[i])] = String(fields[i + 1]);
  if (!event) return `${JSON.stringify({ ...head, raw })}\n`;
  // The entry's own ID is `entryId`; `fin` (a miss's finish reason) is the one field the event leaves out.
  const { id: _id, ...decision } = event;
  return `${JSON.stringify({ ...head, ...decision, ...(raw.fin ? { finish: raw.fin } : {}) })}\n`;
}

/**
 * Reads the file once: cuts a partial last line (a write cut short by a
 * kill), and returns, per stream, its last ID, its line count and the
 * missed entries its lines record.
 */
function scanFile(fd: number, file: string): { byStream: Map<string, { lastId: string; exported: number; missed: number }>; lines: number } {
  const byStream = new Map<string, { lastId: string; exported: number; missed: number }>();
  const size = fstatSync(fd).size;
  const chunk = Buffer.alloc(1 << 20);
  let offset = 0;
  // Bytes of a line not yet ended at the end of the last chunk: lines are split on bytes, decoded whole.
  let carry = Buffer.alloc(0);
  let validEnd = 0;
  let lines = 0;
  while (offset < size) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - offset), offset);
    if (n <= 0) break;
    const dataStart = offset - carry.length;
    offset += n;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
      const line = data.toString("utf8", start, end);
      start = end + 1;
      lines += 1;
      validEnd = dataStart + end + 1;
      const m = LINE_HEAD.exec(line);
      if (!m) throw new Error(`${file}: line ${lines} was not written by the exporter; refusing to append to it`);
      const key = JSON.parse(m[1] as string) as string;
      const id = m[2] as string;
      const state = byStream.get(key) ?? { lastId: "0-0", exported: 0, missed: 0 };
      if (compareIds(id, state.lastId) <= 0) throw new Error(`${file}: line ${lines} repeats or reorders ${key} entry ${id}`);
      state.lastId = id;
      state.exported += 1;
      state.missed += Number(m[3] ?? 0);
      byStream.set(key, state);
    }
    carry = Buffer.from(data.subarray(start));
  }
  if (validEnd < size) {
    ftruncateSync(fd, validEnd);
    fsyncSync(fd);
    log(`cut a partial last line (${size - validEnd} bytes) from ${file}`);
  }
  return { byStream, lines };
}

/** `<out>.lock` holds the writer's pid; a lock whose process is gone is taken over. */
function takeLock(lockFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockFile, "utf8").trim() === String(process.pid)) unlinkSync(lockFile);
        } catch {
          // Already gone.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(lockFile, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new UsageError(`another exporter (pid ${pid}) is writing this file (${lockFile})`);
      }
      unlinkSync(lockFile);
    }
  }
  throw new Error(`could not take ${lockFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** XINFO STREAM's flat reply → the numbers the missed count needs. */
function streamInfo(reply: unknown): { length: number; added: number | null; firstId: string | null } {
  const out: Record<string, unknown> = {};
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  const first = out["first-entry"];
  return {
    length: Number(out.length ?? 0),
    added: out["entries-added"] === undefined ? null : Number(out["entries-added"]),
    firstId: Array.isArray(first) ? String(first[0]) : null,
  };
}

function log(message: string): void {
  process.stderr.write(`flowgate export: ${message}\n`);
}

/** A disk failure: nothing was acknowledged for it, and retrying will not help. */
class FileError extends Error {}

class Exporter {
  private readonly states: StreamState[];
  private exportedThisRun = 0;
  /** Streams whose group was found ahead of the file (said once). */
  private readonly toldAhead = new Set<string>();
  private addedKnown = true;

  constructor(
    private readonly client: ValkeyClient,
    private readonly options: ExportOptions,
    private readonly fd: number,
    keys: string[],
    fromFile: Map<string, { lastId: string; exported: number; missed: number }>,
  ) {
    this.states = keys.map((key) => {
      const known = fromFile.get(key);
      return { key, lastId: known?.lastId ?? "0-0", exported: known?.exported ?? 0, missed: known?.missed ?? 0, unrecordedMissed: 0, added: 0, position: known?.lastId ?? "0-0" };
    });
  }

  totals(): { exported: number; missed: number; lag: number; thisRun: number } {
    let exported = 0;
    let missed = 0;
    let lag = 0;
    for (const s of this.states) {
      exported += s.exported;
      missed += s.missed;
      // Every entry ever added was exported, missed, or is still ahead of the exporter.
      lag += Math.max(0, s.added - s.exported - s.missed);
    }
    return { exported, missed, lag, thisRun: this.exportedThisRun };
  }

  /** The group on every stream, other consumers' pending entries taken over, and this consumer's pending entries settled. */
  async recover(): Promise<void> {
    const { group, consumer, batch } = this.options;
    const seen = { pending: 0, written: 0, inFile: 0, gone: 0, claimed: 0 };
    for (const state of this.states) {
      try {
        await this.client.xgroup("CREATE", state.key, group, "0", "MKSTREAM");
      } catch (error) {
        if (!/BUSYGROUP/.test(reason(error))) throw error;
      }
      // Entries a consumer of another name was given (an earlier --consumer) become ours, to settle in ID order below.
      const consumers = (await this.client.xinfo("CONSUMERS", state.key, group)) as unknown[][];
      for (const c of consumers) {
        const info: Record<string, unknown> = {};
        for (let i = 0; i + 1 < c.length; i += 2) info[String(c[i])] = c[i + 1];
        const name = String(info.name);
        if (name === consumer) continue;
        if (Number(info.pending ?? 0) > 0) {
          seen.claimed += Number(info.pending);
          // XAUTOCLAIM walks the whole group's pending list (ours too, harmlessly): afterwards all of it is ours.
          let cursor = "0-0";
          do {
            const reply = (await this.client.xautoclaim(state.key, group, consumer, 0, cursor, "COUNT", batch, "JUSTID")) as unknown[];
            cursor = String(reply[0]);
          } while (cursor !== "0-0");
        }
        await this.client.xgroup("DELCONSUMER", state.key, group, name);
      }
      // This consumer's pending entries, oldest first: written ones are acked, the rest written first.
      let cursor = "0";
      for (;;) {
        const entries = await this.readGuarded(state, cursor);
        if (entries.length === 0) break;
        const settled = await this.settle(state, entries);
        seen.pending += entries.length;
        seen.written += settled.written;
        seen.inFile += settled.inFile;
        seen.gone += settled.gone;
        cursor = (entries[entries.length - 1] as Entry)[0];
      }
      const groups = (await this.client.xinfo("GROUPS", state.key)) as unknown[][];
      for (const g of groups) {
        const info: Record<string, unknown> = {};
        for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
        if (String(info.name) !== group) continue;
        const delivered = String(info["last-delivered-id"] ?? "0-0");
        if (compareIds(delivered, state.position) > 0) state.position = delivered;
        if (state.lastId === "0-0" && delivered !== "0-0" && !this.toldAhead.has(state.key)) {
          this.toldAhead.add(state.key);
          log(
            `${state.key}: group ${group} already handed out entries up to ${delivered} that ${this.options.out} does not hold ` +
              `(another file has them, or they were trimmed); they are not exported again, and count as missed if trimmed`,
          );
        }
      }
    }
    if (seen.pending > 0 || seen.claimed > 0) {
      log(
        `settled ${seen.pending} pending entries (${seen.claimed} taken over from other consumers): ` +
          `${seen.inFile} already in the file (acknowledged only), ${seen.written} written now, ${seen.gone} trimmed before they were written`,
      );
    }
  }

  /**
   * XINFO STREAM and XREADGROUP in one MULTI: the missed count is computed
   * on the state the read sees. `from` is ">" for new entries, else an ID in
   * this consumer's pending list.
   */
  private async readGuarded(state: StreamState, from: string): Promise<Entry[]> {
    const { group, consumer, batch } = this.options;
    const replies = await this.client
      .multi()
      .xinfo("STREAM", state.key)
      .xreadgroup("GROUP", group, consumer, "COUNT", batch, "STREAMS", state.key, from)
      .exec();
    if (!replies) throw new Error("the MULTI was discarded");
    const [infoReply, readReply] = replies;
    if (infoReply?.[0]) throw infoReply[0];
    if (readReply?.[0]) throw readReply[0];
    this.countMissed(state, streamInfo(infoReply?.[1]));
    const streams = readReply?.[1] as [string, Entry[]][] | null;
    const entries = streams?.[0]?.[1] ?? [];
    const newest = entries[entries.length - 1];
    if (newest && compareIds(newest[0], state.position) > 0) state.position = newest[0];
    return entries;
  }

  private countMissed(state: StreamState, info: { length: number; added: number | null; firstId: string | null }): void {
    if (info.added === null) {
      if (this.addedKnown) log(`this server's XINFO STREAM has no entries-added (Valkey 7.2+ / Redis 7+): missed decisions cannot be counted`);
      this.addedKnown = false;
      return;
    }
    state.added = info.added;
    // Behind the stream's first entry (or the stream is empty): all the file holds from it was trimmed since.
    const behind = info.firstId === null || compareIds(state.lastId, info.firstId) < 0;
    if (!behind) return;
    const missed = info.added - info.length - state.exported;
    if (missed < state.missed) {
      // Fewer entries ever added than exported and missed: the stream was deleted and begun again.
      log(`${state.key} holds fewer entries than already exported (was it deleted, or Valkey restarted without persistence?); keeping the counts`);
      return;
    }
    if (missed > state.missed) {
      const gap = missed - state.missed;
      state.unrecordedMissed += gap;
      state.missed = missed;
      log(`${state.key}: ${gap} decision${gap === 1 ? " was" : "s were"} trimmed before delivery (STREAM_MAXLEN); missed ${this.totals().missed} in all`);
    }
  }

  /** Writes and fsyncs the entries the file lacks, then acknowledges them all. */
  private async settle(state: StreamState, entries: Entry[]): Promise<{ written: number; inFile: number; gone: number }> {
    let text = "";
    let lastId = state.lastId;
    let written = 0;
    let inFile = 0;
    let gone = 0;
    for (const entry of entries) {
      // Trimmed while pending (no fields), or already in the file: acknowledged, not written.
      if (entry[1] === null) {
        gone += 1;
        continue;
      }
      if (compareIds(entry[0], lastId) <= 0) {
        inFile += 1;
        continue;
      }
      text += toLine(state.key, entry, state.unrecordedMissed);
      state.unrecordedMissed = 0;
      lastId = entry[0];
      written += 1;
    }
    if (written > 0) {
      try {
        const buffer = Buffer.from(text);
        let done = 0;
        while (done < buffer.length) done += writeSync(this.fd, buffer, done, buffer.length - done);
        fsyncSync(this.fd);
      } catch (error) {
        throw new FileError(`writing ${this.options.out}: ${reason(error)}`);
      }
      state.lastId = lastId;
      state.exported += written;
      this.exportedThisRun += written;
    }
    // Only now: every entry acknowledged here is on disk (or was never there to write).
    await this.client.xack(state.key, this.options.group, ...entries.map((e) => e[0]));
    return { written, inFile, gone };
  }

  /** One read of new entries on every stream; how many arrived. */
  async poll(isStopping: () => boolean): Promise<number> {
    let arrived = 0;
    for (const state of this.states) {
      const entries = await this.readGuarded(state, ">");
      if (entries.length > 0) arrived += (await this.settle(state, entries)).written;
      if (isStopping()) break;
    }
    return arrived;
  }

  /** Waits up to `ms` for an entry after the exporter's position on any stream (XREAD BLOCK, delivers nothing). */
  async waitForNews(ms: number): Promise<void> {
    if (isClusterClient(this.client)) return sleep(Math.min(ms, 200));
    const positions = this.states.map((s) => s.position);
    await this.client.xread("COUNT", 1, "BLOCK", Math.max(1, Math.round(ms)), "STREAMS", ...this.states.map((s) => s.key), ...positions);
  }
}

async function main(): Promise<number> {
  const started = startCli("export", USAGE, parseExportArgs);
  if (typeof started === "number") return started;
  const { options, config } = started;

  let releaseLock: () => void;
  let fd: number;
  let scanned: ReturnType<typeof scanFile>;
  try {
    releaseLock = takeLock(`${options.out}.lock`);
    const created = !existsSync(options.out);
    fd = openSync(options.out, "a+");
    if (created) {
      // The new file's name is durable too, not only its contents.
      const dir = openSync(path.dirname(options.out), "r");
      fsyncSync(dir);
      closeSync(dir);
    }
    scanned = scanFile(fd, options.out);
  } catch (error) {
    log(reason(error));
    return error instanceof UsageError ? 2 : 1;
  }

  const keys = createKeySpace(config.VALKEY_PREFIX);
  const streams = Array.from({ length: config.VALKEY_SHARDS }, (_, shard) => keys.events(shard));
  const client = openStreamClient(config, 4000);

  let stopping = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  // The batch in hand is finished (write, fsync, ack) before the exit; a second signal does not wait.
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const finish = (code: number) => {
    client.disconnect();
    closeSync(fd);
    releaseLock();
    return code;
  };

  try {
    const ready = waitReady(client, Math.max(2000, config.VALKEY_CONNECT_TIMEOUT_MS * 4));
    ready.catch(() => {});
    await Promise.race([ready, stopped]);
  } catch (error) {
    log(`cannot reach Valkey at ${shownUrl(config.VALKEY_URL)} (${reason(error)}). Start it with \`npm run demo\`, or set VALKEY_URL.`);
    return finish(1);
  }

  const exporter = new Exporter(client, options, fd, streams, scanned.byStream);
  log(
    `${options.out}: ${scanned.lines} decision${scanned.lines === 1 ? "" : "s"} already in the file; group ${options.group}, consumer ${options.consumer}, ` +
      `${streams.length} stream${streams.length === 1 ? "" : "s"} on ${shownUrl(config.VALKEY_URL)}`,
  );
  const report = (prefix: string) => {
    const t = exporter.totals();
    log(`${prefix}exported ${t.exported} (${t.thisRun} this run), missed ${t.missed}, lag ${t.lag}`);
  };
  const progress = options.progressMs > 0 ? setInterval(() => report(""), options.progressMs) : null;

  let recovered = false;
  let failing: string | null = null;
  let backoff: number = BACKOFF_MS.first;
  let lastArrival = Date.now();
  let code = 0;

  while (!stopping) {
    try {
      if (!recovered) {
        await exporter.recover();
        recovered = true;
      }
      const arrived = await exporter.poll(() => stopping);
      if (failing) {
        log("Valkey answers again; resumed");
        failing = null;
        backoff = BACKOFF_MS.first;
      }
      const now = Date.now();
      if (arrived > 0) {
        lastArrival = now;
        continue;
      }
      if (options.idleExitMs !== null && now - lastArrival >= options.idleExitMs) break;
      const waitMs = options.idleExitMs === null ? BLOCK_MS : Math.min(BLOCK_MS, options.idleExitMs - (now - lastArrival));
      const waiting = exporter.waitForNews(waitMs);
      waiting.catch(() => {});
      await Promise.race([waiting, stopped]);
    } catch (error) {
      if (error instanceof FileError) {
        log(`${error.message}; stopping (nothing unwritten was acknowledged)`);
        code = 1;
        break;
      }
      const why = fatalValkeyError(client) ?? reason(error);
      if (fatalValkeyError(client)) {
        log(why);
        code = 1;
        break;
      }
      if (failing === null) log(`lost Valkey (${why}); retrying with backoff`);
      failing = why;
      // Whatever was in flight is pending in the group: the next recovery settles it.
      recovered = false;
      await Promise.race([sleep(backoff), stopped]);
      backoff = Math.min(backoff * 2, BACKOFF_MS.max);
    }
  }

  if (progress) clearInterval(progress);
  report("done: ");
  return finish(code);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`flowgate export: ${reason(error)}\n`);
    process.exitCode = 1;
  },
);
