/**
 * Pure helpers behind /api/valkey: Valkey's replies (INFO sections, XINFO,
 * SLOWLOG, the sample streams) turned into the views' numbers. No I/O, so
 * unit tests cover them without a server.
 */
import type { CommandRow, ConsumerGroup, SlowlogEntry, TtlBucket } from "@/lib/schemas";
import { toNumber } from "@/lib/stats/snapshot";

/** A flat [field, value, field, value…] reply → an object (values as Valkey sent them). */
export function flatObject(reply: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}

/** `a=1,b=2.5` (one INFO commandstats / latencystats value) → { a: 1, b: 2.5 }. */
function infoFields(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(",")) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at)] = toNumber(part.slice(at + 1));
  }
  return out;
}

export interface CommandCounters {
  calls: number;
  usec: number;
}

/**
 * INFO commandstats of one or more servers (a cluster's masters), added up:
 * `cmdstat_evalsha:calls=3,usec=120,…` → { evalsha: { calls: 3, usec: 120 } }.
 * Sub-commands (`cmdstat_client|list`) keep their `|` names.
 */
export function commandCounters(infos: Record<string, string>[]): Record<string, CommandCounters> {
  const out: Record<string, CommandCounters> = {};
  for (const info of infos) {
    for (const [field, value] of Object.entries(info)) {
      if (!field.startsWith("cmdstat_")) continue;
      const name = field.slice("cmdstat_".length);
      const f = infoFields(value);
      const row = (out[name] ??= { calls: 0, usec: 0 });
      row.calls += f.calls ?? 0;
      row.usec += f.usec ?? 0;
    }
  }
  return out;
}

export interface Percentiles {
  p50: number | null;
  p99: number | null;
  p999: number | null;
}

/**
 * INFO latencystats (`latency_percentiles_usec_evalsha:p50=2.007,p99=5.023,p99.9=10.047`).
 * Over several servers the highest of each percentile is kept: an upper bound,
 * since the histograms themselves are not exposed to be merged.
 */
export function latencyPercentiles(infos: Record<string, string>[]): Record<string, Percentiles> {
  const out: Record<string, Percentiles> = {};
  const max = (a: number | null, b: number | undefined) => (b === undefined ? a : a === null ? b : Math.max(a, b));
  for (const info of infos) {
    for (const [field, value] of Object.entries(info)) {
      if (!field.startsWith("latency_percentiles_usec_")) continue;
      const name = field.slice("latency_percentiles_usec_".length);
      const f = infoFields(value);
      const row = (out[name] ??= { p50: null, p99: null, p999: null });
      row.p50 = max(row.p50, f.p50);
      row.p99 = max(row.p99, f.p99);
      row.p999 = max(row.p999, f["p99.9"]);
    }
  }
  return out;
}

/** The scripts' commands: their µs is what a decision costs (the commands inside are part of it). */
export const SCRIPT_COMMANDS = ["evalsha", "eval"] as const;

/** Commands shown in the latency table, at most. */
export const COMMAND_ROWS = 12;

/**
 * The latency table: every command that ran in the interval (or, without an
 * earlier reading, since the start), the costliest first.
 * `base` is the reading `spanMs` ago, or null.
 */
export function commandRows(
  now: Record<string, CommandCounters>,
  base: Record<string, CommandCounters> | null,
  spanMs: number | null,
  percentiles: Record<string, Percentiles>,
): CommandRow[] {
  const rows: (CommandRow & { weight: number })[] = [];
  for (const [command, counters] of Object.entries(now)) {
    const before = base?.[command] ?? { calls: 0, usec: 0 };
    const interval = base !== null && spanMs !== null && spanMs > 0 && counters.calls >= before.calls;
    const calls = interval ? counters.calls - before.calls : counters.calls;
    const usec = interval ? counters.usec - before.usec : counters.usec;
    if (counters.calls === 0) continue;
    const p = percentiles[command] ?? { p50: null, p99: null, p999: null };
    rows.push({
      command,
      calls: counters.calls,
      callsPerSec: interval ? round(calls / (spanMs / 1000), 1) : null,
      usecPerCall: interval ? (calls > 0 ? round(usec / calls, 2) : null) : null,
      usecPerCallAllTime: round(counters.usec / counters.calls, 2),
      ...p,
      weight: interval ? usec : 0,
    });
  }
  // The interval's busiest first; without an interval, the most called.
  rows.sort((a, b) => b.weight - a.weight || b.calls - a.calls || a.command.localeCompare(b.command));
  return rows.slice(0, COMMAND_ROWS).map(({ weight: _weight, ...row }) => row);
}

/** Script calls and their µs, added over EVALSHA and EVAL. */
export function scriptCounters(counters: Record<string, CommandCounters>): CommandCounters {
  let calls = 0;
  let usec = 0;
  for (const name of SCRIPT_COMMANDS) {
    calls += counters[name]?.calls ?? 0;
    usec += counters[name]?.usec ?? 0;
  }
  return { calls, usec };
}

/** One SLOWLOG GET reply → entries, newest first; an EVALSHA named by the script it ran. */
export function slowlogEntries(replies: unknown[], scriptNames: Map<string, string>, n: number): SlowlogEntry[] {
  const entries: SlowlogEntry[] = [];
  for (const reply of replies) {
    if (!Array.isArray(reply)) continue;
    for (const raw of reply) {
      if (!Array.isArray(raw) || raw.length < 4) continue;
      const args = Array.isArray(raw[3]) ? (raw[3] as unknown[]).map(String) : [];
      const command = (args[0] ?? "").toLowerCase();
      const script = command === "evalsha" ? (scriptNames.get((args[1] ?? "").toLowerCase()) ?? null) : null;
      // Only the command and the script: arguments name callers and prompts.
      entries.push({ id: toNumber(raw[0]), at: toNumber(raw[1]) * 1000, durationUs: toNumber(raw[2]), command, script });
    }
  }
  return entries.sort((a, b) => b.at - a.at || b.id - a.id).slice(0, n);
}

/**
 * Script calls and µs of an interval that began at `since` (Unix ms), less
 * the script calls in the slow log that may fall in it (SLOWLOG's times are
 * whole seconds): one descheduled call on a busy machine would otherwise
 * swamp the mean of hundreds.
 */
export function withoutSlowCalls(
  delta: CommandCounters,
  slowlog: readonly SlowlogEntry[],
  since: number,
): CommandCounters & { excluded: number } {
  const slow = slowlog.filter((e) => (SCRIPT_COMMANDS as readonly string[]).includes(e.command) && e.at + 1000 > since);
  const usec = slow.reduce((sum, e) => sum + e.durationUs, 0);
  return { calls: delta.calls - slow.length, usec: Math.max(0, delta.usec - usec), excluded: slow.length };
}

export interface StreamInfo {
  length: number;
  entriesAdded: number;
  /** Unix ms of the first entry, or null. */
  firstAt: number | null;
}

/** XINFO STREAM's flat reply. */
export function streamInfo(reply: unknown): StreamInfo {
  const o = flatObject(reply);
  const first = Array.isArray(o["first-entry"]) ? String((o["first-entry"] as unknown[])[0]) : null;
  return {
    length: toNumber(o.length),
    // entries-added exists from Redis 7 / Valkey 7; before, the length is what there is.
    entriesAdded: o["entries-added"] === undefined ? toNumber(o.length) : toNumber(o["entries-added"]),
    firstAt: first ? toNumber(first.split("-")[0]) : null,
  };
}

/** XINFO GROUPS replies of every shard's stream, one row per group name (shards added up). */
export function consumerGroups(replies: unknown[]): ConsumerGroup[] {
  const byName = new Map<string, ConsumerGroup>();
  for (const reply of replies) {
    if (!Array.isArray(reply)) continue;
    for (const raw of reply) {
      const o = flatObject(raw);
      const name = String(o.name ?? "");
      if (!name) continue;
      const lag = o.lag === null || o.lag === undefined ? null : toNumber(o.lag);
      const row = byName.get(name);
      if (!row) {
        byName.set(name, {
          name,
          consumers: toNumber(o.consumers),
          pending: toNumber(o.pending),
          lag,
          lastDeliveredId: String(o["last-delivered-id"] ?? "0-0"),
        });
      } else {
        row.consumers = Math.max(row.consumers, toNumber(o.consumers));
        row.pending += toNumber(o.pending);
        row.lag = row.lag === null || lag === null ? null : row.lag + lag;
        if (String(o["last-delivered-id"] ?? "") > row.lastDeliveredId) row.lastDeliveredId = String(o["last-delivered-id"]);
      }
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** 95 → "95 s", 120 → "2 min", 5400 → "1.5 h". */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${round(seconds, 1)} s`;
  if (seconds < 3600) return `${round(seconds / 60, 1)} min`;
  return `${round(seconds / 3600, 1)} h`;
}

/** Histogram bars over edges (s): [e0, e1), [e1, e2) … and the last one open. */
export function ttlBuckets(edges: readonly number[]): Omit<TtlBucket, "count">[] {
  return edges.map((from, i) => {
    const to = edges[i + 1] ?? null;
    return { label: barLabel(from, to), fromSeconds: from, toSeconds: to };
  });
}

/** "< 15 s", "15–30 s", "1–5 min", "≥ 1 h": one unit where both ends share it. */
function barLabel(from: number, to: number | null): string {
  if (to === null) return `≥ ${formatSeconds(from)}`;
  if (from === 0) return `< ${formatSeconds(to)}`;
  const [a, unitA] = formatSeconds(from).split(" ");
  const [b, unitB] = formatSeconds(to).split(" ");
  return unitA === unitB ? `${a}–${b} ${unitB}` : `${formatSeconds(from)}–${formatSeconds(to)}`;
}


/** Cached prompts: six equal bars over the cache TTL (the last one open, for entries stored under a longer TTL). */
export function cacheTtlEdges(ttlSeconds: number): number[] {
  return Array.from({ length: 6 }, (_, i) => Math.round((ttlSeconds * i) / 6));
}

/** Live limit state: windows run from seconds (a minute's sliding log) to a day (the daily quota). */
export const LIMIT_TTL_EDGES = [0, 15, 30, 45, 60, 300, 3600] as const;

/**
 * ZCOUNT bounds of one bar: remaining life in [from, to) → expiry scores in
 * [now + from, now + to); the first bar leaves out what expired (score ≤ now).
 */
export function zcountBounds(now: number, bucket: Omit<TtlBucket, "count">): [string, string] {
  const min = bucket.fromSeconds === 0 ? `(${now}` : String(now + bucket.fromSeconds * 1000);
  const max = bucket.toSeconds === null ? "+inf" : `(${now + bucket.toSeconds * 1000}`;
  return [min, max];
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
