/**
 * `npm run tail`: the gateway's decisions, live, one line each.
 *
 *   npm run tail
 *   npm run tail -- --outcome blocked --identity 203.0.113
 *   npm run tail -- --from-start --json --max 100 > last.ndjson
 *
 * Reads every analytics shard's stream (keys.events) with XREAD BLOCK from
 * the newest entry, or from the oldest one kept with --from-start. The start
 * is resolved to concrete entry IDs once, so no decision falls between two
 * reads, nor between a lost connection and the next one. Valkey going away
 * mid-run is waited out with backoff; Valkey unreachable at start is a
 * one-line error and exit 1.
 */
import { parseArgs } from "node:util";
import { toActivityEvent } from "@/lib/stats/snapshot";
import type { ActivityEvent } from "@/lib/schemas";
import { fatalValkeyError, isClusterClient, type ValkeyClient } from "@/lib/valkey/client";
import { createKeySpace } from "@/lib/valkey/keys";
import { BACKOFF_MS, BLOCK_MS, openStreamClient, reason, shownUrl, sleep, startCli, waitReady } from "./lib/stream-client";

const USAGE = `Usage: npm run tail -- [options]

Prints the gateway's decisions as they happen, one line each (time, outcome,
door, identity, tier, model, window usage, tokens, latency).

  --identity TEXT     only identities containing TEXT (case-insensitive), e.g. 203.0.113 or key:
  --outcome LIST      only these outcomes: blocked, hit, miss (repeat it or give a comma list)
  --tier NAME         only this tier (anonymous, free, pro, enterprise)
  --from-start        begin with the oldest decision the streams still hold (default: only new ones)
  --json              one JSON object per line (NDJSON) instead of text
  --max N             stop after N lines
  --seconds S         stop after S seconds
  -h, --help          this help

Valkey: VALKEY_URL (default redis://127.0.0.1:6380, the one \`npm run demo\`
starts), VALKEY_PREFIX and VALKEY_SHARDS as the gateway uses them.
Colours: only on a terminal, and never with NO_COLOR set.
`;

const OUTCOMES = ["blocked", "hit", "miss"] as const;
type Outcome = (typeof OUTCOMES)[number];

/** How long one XREAD waits for news, ms: also the longest a stop waits. */
/** Entries per stream per read. */
const READ_COUNT = 500;

export interface TailOptions {
  identity: string | null;
  outcomes: Set<Outcome> | null;
  tier: string | null;
  fromStart: boolean;
  json: boolean;
  max: number | null;
  seconds: number | null;
  help: boolean;
}

class UsageError extends Error {}

function positive(name: string, raw: string | undefined, integer: boolean): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be a positive ${integer ? "whole " : ""}number, not "${raw}"`);
  }
  return n;
}

export function parseTailArgs(argv: string[]): TailOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        identity: { type: "string" },
        outcome: { type: "string", multiple: true },
        tier: { type: "string" },
        "from-start": { type: "boolean" },
        json: { type: "boolean" },
        max: { type: "string" },
        seconds: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  let outcomes: Set<Outcome> | null = null;
  if (v.outcome) {
    outcomes = new Set();
    for (const part of v.outcome.flatMap((o) => o.split(",")).map((o) => o.trim().toLowerCase()).filter(Boolean)) {
      if (!(OUTCOMES as readonly string[]).includes(part)) {
        throw new UsageError(`--outcome must be blocked, hit or miss, not "${part}"`);
      }
      outcomes.add(part as Outcome);
    }
  }
  return {
    identity: v.identity ? v.identity.toLowerCase() : null,
    outcomes,
    tier: v.tier ?? null,
    fromStart: v["from-start"] === true,
    json: v.json === true,
    max: positive("max", v.max, true),
    seconds: positive("seconds", v.seconds, false),
    help: v.help === true,
  };
}

function matches(event: ActivityEvent, options: TailOptions): boolean {
  if (options.outcomes && !options.outcomes.has(event.type)) return false;
  if (options.tier && event.tier !== options.tier) return false;
  if (options.identity && !event.identity.toLowerCase().includes(options.identity)) return false;
  return true;
}

const COLOURS: Record<Outcome, string> = { blocked: "\x1b[31m", hit: "\x1b[32m", miss: "\x1b[33m" };
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** One decision as a terminal line; `colour` only when stdout is a terminal without NO_COLOR. */
export function formatLine(event: ActivityEvent, colour: boolean): string {
  const outcome = event.type === "hit" && event.coalesced ? "hit*" : event.type;
  // The window shown is the deciding limit's: the refusing one when blocked (free-tokens, free-daily…).
  const window = `${event.inWindow}/${event.limit}${event.policy && event.policy !== event.tier ? ` ${event.policy}` : ""}`;
  const tokens = event.type === "blocked" ? "-" : `${event.tokens} tok`;
  const latency = event.type === "miss" ? `${event.latencyMs} ms` : "-";
  const cells = [
    clock(event.timestamp),
    outcome.padEnd(7),
    event.door.padEnd(8),
    (event.identity || "-").padEnd(26),
    (event.tier || "-").padEnd(10),
    (event.model || "-").padEnd(18),
    window.padEnd(12),
    tokens.padStart(9),
    latency.padStart(8),
  ];
  if (!colour) return cells.join(" ");
  const [time, ...rest] = cells;
  return `${DIM}${time}${RESET} ${COLOURS[event.type]}${rest.join(" ")}${RESET}`;
}

type StreamReply = [key: string, entries: [id: string, fields: string[] | null][]][] | null;

function log(message: string): void {
  process.stderr.write(`flowgate tail: ${message}\n`);
}

async function main(): Promise<number> {
  const started = startCli("tail", USAGE, parseTailArgs);
  if (typeof started === "number") return started;
  const { options, config } = started;

  // NO_COLOR is the terminal's convention (no-color.org), not Flowgate configuration.
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const keys = createKeySpace(config.VALKEY_PREFIX);
  const streams = Array.from({ length: config.VALKEY_SHARDS }, (_, shard) => keys.events(shard));
  const client = openStreamClient(config, 2000);
  const cluster = isClusterClient(client);

  let stopping = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const stop = () => {
    stopping = true;
    wake();
  };
  // A second Ctrl-C does not wait for the read in flight.
  const onSignal = () => (stopping ? process.exit(130) : stop());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // `npm run tail | head`: the reader left; that is an ordinary end.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") stop();
  });
  const deadline = options.seconds === null ? null : setTimeout(stop, options.seconds * 1000);

  try {
    const ready = waitReady(client, Math.max(2000, config.VALKEY_CONNECT_TIMEOUT_MS * 4));
    ready.catch(() => {});
    await Promise.race([ready, stopped]);
  } catch (error) {
    log(`cannot reach Valkey at ${shownUrl(config.VALKEY_URL)} (${reason(error)}). Start it with \`npm run demo\`, or set VALKEY_URL.`);
    client.disconnect();
    if (deadline) clearTimeout(deadline);
    return 1;
  }

  // Where each stream is read from: its newest entry now ("$", made concrete), or the beginning.
  const ids = new Map<string, string>();
  let printed = 0;
  let failing: string | null = null;
  let backoff: number = BACKOFF_MS.first;
  let positioned = false;

  while (!stopping) {
    try {
      if (!positioned) {
        for (const key of streams) {
          if (options.fromStart) ids.set(key, "0-0");
          else {
            const last = (await client.xrevrange(key, "+", "-", "COUNT", 1)) as [string, string[]][];
            ids.set(key, last[0]?.[0] ?? "0-0");
          }
        }
        positioned = true;
        log(`following ${streams.length} stream${streams.length === 1 ? "" : "s"} (${streams.join(", ")}) on ${shownUrl(config.VALKEY_URL)}${options.fromStart ? " from the oldest entry kept" : ""}; Ctrl-C to stop`);
      }
      const pending = read(client, cluster, streams, ids);
      // A stop leaves the read in flight; the disconnect below rejects it, and nobody waits for it any more.
      pending.catch(() => {});
      const batch = await Promise.race([pending, stopped.then(() => null)]);
      if (failing) {
        log(`Valkey answers again; resuming where it stopped`);
        failing = null;
        backoff = BACKOFF_MS.first;
      }
      if (!batch) continue;
      const events: ActivityEvent[] = [];
      for (const [key, entries] of batch) {
        for (const entry of entries) {
          ids.set(key, entry[0]);
          const event = toActivityEvent(entry);
          if (event && matches(event, options)) events.push(event);
        }
      }
      // Shards are read together; show their decisions in time order.
      if (streams.length > 1) events.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
      for (const event of events) {
        if (stopping) break;
        process.stdout.write(options.json ? `${JSON.stringify(event)}\n` : `${formatLine(event, colour)}\n`);
        printed += 1;
        if (options.max !== null && printed >= options.max) stop();
      }
    } catch (error) {
      if (stopping) break;
      const why = fatalValkeyError(client) ?? reason(error);
      if (fatalValkeyError(client)) {
        log(why);
        client.disconnect();
        return 1;
      }
      if (failing === null) log(`lost Valkey (${why}); retrying with backoff`);
      failing = why;
      await Promise.race([sleep(backoff), stopped]);
      backoff = Math.min(backoff * 2, BACKOFF_MS.max);
    }
  }

  if (deadline) clearTimeout(deadline);
  client.disconnect();
  if (!options.json && process.stderr.isTTY) log(`${printed} decision${printed === 1 ? "" : "s"} shown`);
  return 0;
}

/**
 * New entries of every stream after its position. One XREAD BLOCK over all of
 * them on a single server; on a cluster the streams live on different slots,
 * so each is read without BLOCK and an empty round waits a moment.
 */
async function read(client: ValkeyClient, cluster: boolean, streams: string[], ids: Map<string, string>): Promise<StreamReply> {
  if (!cluster) {
    const positions = streams.map((key) => ids.get(key) ?? "0-0");
    return (await client.xread("COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", ...streams, ...positions)) as StreamReply;
  }
  const replies = await Promise.all(
    streams.map((key) => client.xread("COUNT", READ_COUNT, "STREAMS", key, ids.get(key) ?? "0-0") as Promise<StreamReply>),
  );
  const found = replies.flatMap((reply) => reply ?? []);
  if (found.length === 0) {
    await sleep(200);
    return null;
  }
  return found;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`flowgate tail: ${reason(error)}\n`);
    process.exitCode = 1;
  },
);
