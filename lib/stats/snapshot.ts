/**
 * Pure helpers that turn raw Valkey replies into the stats snapshot.
 * No I/O here, so unit tests cover them without a server.
 */
import type { ActivityEvent, DoorCounts, TimeBucket, TopConsumer, ValkeyInfo } from "@/lib/schemas";

export function toNumber(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** ["a","1","b","2"] or {a:"1"} → { a: 1, b: 2 }. */
export function numericHash(reply: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = toNumber(reply[i + 1]);
  } else if (reply && typeof reply === "object") {
    for (const [k, v] of Object.entries(reply)) out[k] = toNumber(v);
  }
  return out;
}

/** Add up counter hashes from several shards. */
export function sumHashes(hashes: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const hash of hashes) for (const [k, v] of Object.entries(hash)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function hitRatio(hits: number, misses: number): number {
  const total = hits + misses;
  return total === 0 ? 0 : hits / total;
}

/**
 * One time bucket from its hash. decide.lua writes one field per decision,
 * named by outcome and door (one HINCRBY instead of four): h(it, coalesced
 * included), m(iss), a(dmitted without a cache outcome), b(locked), then
 * g(enerate) or o(penai); store.lua moves a coalesced request that generated
 * after all from h to m and adds the tokens (tok). Buckets written before
 * that layout (req, ok, blk, hit, miss, dg, do) are added in, so a bucket
 * read across the change counts both halves.
 */
export function toTimeBucket(t: number, hash: Record<string, number>): TimeBucket {
  const f = (field: string) => hash[field] ?? 0;
  const door = (d: "g" | "o") => f(`h${d}`) + f(`m${d}`) + f(`a${d}`) + f(`b${d}`);
  const generate = door("g");
  const openai = door("o");
  const blocked = f("bg") + f("bo");
  return {
    t,
    requests: f("req") + generate + openai,
    allowed: f("ok") + generate + openai - blocked,
    blocked: f("blk") + blocked,
    hits: f("hit") + f("hg") + f("ho"),
    misses: f("miss") + f("mg") + f("mo"),
    tokens: f("tok"),
    doors: { generate: f("dg") + generate, openai: f("do") + openai },
  };
}

/** The totals hash's per-door request counters. */
export function toDoorTotals(totals: Record<string, number>): DoorCounts {
  return { generate: totals["door:generate"] ?? 0, openai: totals["door:openai"] ?? 0 };
}

/**
 * The totals hash with the two counters decide.lua no longer writes put
 * back: every decision counts its door, so requests are the doors' sum, and
 * allowed are those less the blocked (two HINCRBYs fewer per decision).
 * Every other field (hits, misses, blocked, coalesced, tokens_saved, …) is
 * a counter of its own, as it was.
 */
export function toTotals(hash: Record<string, number>): Record<string, number> {
  const doors = toDoorTotals(hash);
  const requests = doors.generate + doors.openai;
  return { ...hash, requests, allowed: requests - (hash.blocked ?? 0) };
}

/** Sum of a field over the buckets that started within the last `spanMs` before `now`. */
export function sumRecent(buckets: TimeBucket[], field: keyof Omit<TimeBucket, "t" | "doors">, now: number, spanMs: number): number {
  return buckets.filter((b) => b.t > now - spanMs).reduce((sum, b) => sum + b[field], 0);
}

/** WITHSCORES reply → [member, score][] */
export function pairs(reply: unknown): [string, number][] {
  const out: [string, number][] = [];
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), toNumber(reply[i + 1])]);
  return out;
}

/** Merge per-minute top lists (this minute and the last) into one ranking. */
export function mergeTop(lists: [string, number][][], n: number): [string, number][] {
  const totals = new Map<string, number>();
  for (const list of lists) for (const [member, score] of list) totals.set(member, (totals.get(member) ?? 0) + score);
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

export function toTopConsumer(identity: string, requests: number, blocked: number, tierOf: (id: string) => string): TopConsumer {
  return { identity, tier: tierOf(identity), requests, blocked };
}

/**
 * One XRANGE entry → an activity event; unknown or damaged entries → null.
 * The stream's short field names (n, rem, ck, co, tok, lat, …) are listed
 * with their units in docs/architecture.md, "Stream event fields".
 */
export function toActivityEvent(entry: unknown): ActivityEvent | null {
  if (!Array.isArray(entry) || entry.length < 2 || !Array.isArray(entry[1])) return null;
  const id = String(entry[0]);
  const fields: Record<string, string> = {};
  const raw = entry[1] as unknown[];
  for (let i = 0; i + 1 < raw.length; i += 2) fields[String(raw[i])] = String(raw[i + 1]);
  const type = fields.type;
  if (type !== "blocked" && type !== "hit" && type !== "miss") return null;
  // Events written before the OpenAI door existed carry no door: they all came through generate.
  const door = fields.door ?? "generate";
  if (door !== "generate" && door !== "openai") return null;
  return {
    id,
    requestId: fields.id ?? "",
    type,
    identity: fields.who ?? "",
    tier: fields.tier ?? "",
    policy: fields.policy ?? fields.tier ?? "",
    coalesced: fields.co === "1",
    door,
    model: fields.model ?? "",
    timestamp: toNumber(fields.ts) || toNumber(id.split("-")[0]),
    inWindow: toNumber(fields.n),
    limit: toNumber(fields.limit),
    remaining: toNumber(fields.rem),
    resetAt: toNumber(fields.reset),
    cacheKey: fields.ck ?? "",
    latencyMs: toNumber(fields.lat),
    tokens: toNumber(fields.tok),
    savedMs: toNumber(fields.saved_ms),
  };
}

/** Newest first, across shards. */
export function mergeActivity(lists: ActivityEvent[][], n: number): ActivityEvent[] {
  return lists
    .flat()
    .sort((a, b) => b.timestamp - a.timestamp || (a.id < b.id ? 1 : -1))
    .slice(0, n);
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const at = line.indexOf(":");
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return out;
}

export function toValkeyInfo(info: Record<string, string>, roundTripMs: number): ValkeyInfo {
  const isValkey = info.server_name === "valkey" || "valkey_version" in info;
  return {
    server: isValkey ? "valkey" : "redis",
    version: (isValkey ? info.valkey_version : info.redis_version) ?? info.redis_version ?? "unknown",
    mode: info.redis_mode ?? info.server_mode ?? "standalone",
    usedMemoryBytes: toNumber(info.used_memory),
    usedMemoryHuman: info.used_memory_human ?? "",
    opsPerSec: toNumber(info.instantaneous_ops_per_sec),
    connectedClients: toNumber(info.connected_clients),
    uptimeSeconds: toNumber(info.uptime_in_seconds),
    roundTripMs,
  };
}

/** Bytes as INFO's used_memory_human writes them (1.15M). */
export function humanBytes(bytes: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(2)}${units[unit]}`;
}

/**
 * The INFO of a cluster's masters as one: memory, ops/s and clients summed;
 * server, version and mode of the first node; uptime of the youngest. One
 * node's INFO comes back as it is.
 */
export function mergeInfos(infos: Record<string, string>[]): Record<string, string> {
  if (infos.length <= 1) return infos[0] ?? {};
  const sum = (field: string) => String(infos.reduce((total, info) => total + toNumber(info[field]), 0));
  const memory = infos.reduce((total, info) => total + toNumber(info.used_memory), 0);
  return {
    ...infos[0],
    used_memory: String(memory),
    used_memory_human: humanBytes(memory),
    instantaneous_ops_per_sec: sum("instantaneous_ops_per_sec"),
    connected_clients: sum("connected_clients"),
    uptime_in_seconds: String(Math.min(...infos.map((info) => toNumber(info.uptime_in_seconds)))),
  };
}
