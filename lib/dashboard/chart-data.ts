/**
 * Shapes the stats snapshot into chart props. Pure functions, unit-tested;
 * the chart components only draw what these return.
 */
import { formatClock, ratio } from "@/lib/dashboard/format";
import type { ActivityEvent, Door, DoorCounts, Stats, TimeBucket, TopConsumer } from "@/lib/schemas";

export const DOOR_LABELS: Record<Door, string> = { generate: "generate", openai: "OpenAI API" };

/**
 * One bucket, stacked two ways: by outcome (generated + cached + blocked =
 * requests) and by door (generate + openai, blocked included).
 */
export interface TrafficPoint extends DoorCounts {
  t: number;
  /** Admitted and generated (cache misses). */
  generated: number;
  /** Admitted and answered from the cache. */
  cached: number;
  blocked: number;
}

export function toTrafficSeries(buckets: TimeBucket[]): TrafficPoint[] {
  return buckets.map((b) => ({
    t: b.t,
    generated: Math.max(0, b.allowed - b.hits),
    cached: b.hits,
    blocked: b.blocked,
    ...b.doors,
  }));
}

export interface DoorShare {
  door: Door;
  label: string;
  requests: number;
  /** 0..1 of all requests counted by door; null when there are none. */
  share: number | null;
}

export function toDoorSplit(doors: DoorCounts): DoorShare[] {
  const total = doors.generate + doors.openai;
  // Type-only imports from lib/schemas keep zod out of the first screen's script.
  return (Object.keys(DOOR_LABELS) as Door[]).map((door) => ({ door, label: DOOR_LABELS[door], requests: doors[door], share: ratio(doors[door], total) }));
}

export interface HitRatioPoint {
  t: number;
  /** Percent, 0..100; null where no request looked up the cache. */
  ratio: number | null;
  /** Running ratio since the chart's first bucket, percent. */
  cumulative: number | null;
}

export function toHitRatioSeries(buckets: TimeBucket[]): HitRatioPoint[] {
  let hits = 0;
  let lookups = 0;
  return buckets.map((b) => {
    hits += b.hits;
    lookups += b.hits + b.misses;
    const here = b.hits + b.misses;
    return {
      t: b.t,
      ratio: here > 0 ? (100 * b.hits) / here : null,
      cumulative: lookups > 0 ? (100 * hits) / lookups : null,
    };
  });
}

/**
 * Ticks of a time axis of 10 s buckets: the whole minutes (labelled HH:MM), or,
 * when fewer than two fall in the series, every 30 s (HH:MM:SS). A label per
 * bucket cut to HH:MM read "07:28 07:28 07:28" under a chart.
 */
export function timeTicks(points: readonly { t: number }[]): { ticks: number[]; label: (t: number) => string } {
  const minutes = points.map((p) => p.t).filter((t) => t % 60_000 === 0);
  if (minutes.length >= 2) return { ticks: minutes, label: (t) => formatClock(t).slice(0, 5) };
  return { ticks: points.map((p) => p.t).filter((t) => t % 30_000 === 0), label: formatClock };
}

/** Trim leading empty buckets so a fresh server's chart is not a flat line, keeping at least `min`. */
export function trimLeadingEmpty<T extends { t: number }>(points: T[], isEmpty: (p: T) => boolean, min = 12): T[] {
  const first = points.findIndex((p) => !isEmpty(p));
  if (first === -1) return points.slice(-min);
  return points.slice(Math.min(first, Math.max(0, points.length - min)));
}

export interface ConsumerBar {
  name: string;
  identity: string;
  tier: string;
  admitted: number;
  blocked: number;
}

export function toConsumerBars(consumers: TopConsumer[]): ConsumerBar[] {
  return consumers.map((c) => ({
    name: c.identity,
    identity: c.identity,
    tier: c.tier,
    admitted: Math.max(0, c.requests - c.blocked),
    blocked: c.blocked,
  }));
}

export interface Slice {
  key: keyof Stats["keyDistribution"];
  label: string;
  value: number;
}

const SLICE_LABELS: Record<keyof Stats["keyDistribution"], string> = {
  rateLimit: "Callers, last minute",
  cache: "Cached prompts",
  stream: "Event stream",
  counters: "Counters & buckets",
};

export function toKeySlices(distribution: Stats["keyDistribution"]): Slice[] {
  return (Object.keys(SLICE_LABELS) as (keyof Stats["keyDistribution"])[]).map((key) => ({
    key,
    label: SLICE_LABELS[key],
    value: distribution[key],
  }));
}

/** Events not in `seen`: the ones to highlight as new arrivals. */
export function newEventIds(events: ActivityEvent[], seen: ReadonlySet<string>): string[] {
  return events.filter((e) => !seen.has(e.id)).map((e) => e.id);
}

export interface RunPoint {
  /** Requests settled so far. */
  done: number;
  successful: number;
  cached: number;
  blocked: number;
  failed: number;
}

/** Cumulative outcomes of a simulator run, in completion order, down-sampled to at most `max` points. */
export function toRunSeries(outcomes: ("allowed" | "cached" | "blocked" | "failed")[], max = 100): RunPoint[] {
  const points: RunPoint[] = [];
  const acc = { successful: 0, cached: 0, blocked: 0, failed: 0 };
  const step = Math.max(1, Math.ceil(outcomes.length / max));
  outcomes.forEach((o, i) => {
    if (o === "allowed") acc.successful += 1;
    else if (o === "cached") {
      acc.successful += 1;
      acc.cached += 1;
    } else if (o === "blocked") acc.blocked += 1;
    else acc.failed += 1;
    if ((i + 1) % step === 0 || i === outcomes.length - 1) points.push({ done: i + 1, ...acc });
  });
  return points;
}
