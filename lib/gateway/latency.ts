/**
 * Recent gateway latencies per outcome, measured in this process (a ring of
 * the last 500 each). A cache hit's own latency is not in the stream (the
 * script that logs it cannot know how long the round trip took), so the
 * dashboard's "hit vs miss" comes from here, labelled as this instance's.
 */
import type { LatencySummary } from "@/lib/schemas";

const SIZE = 500;
type Outcome = "hit" | "miss" | "blocked";

interface Ring {
  values: Float64Array;
  next: number;
  count: number;
}

type Holder = { __flowgateLatency?: Record<Outcome, Ring> };
const holder = globalThis as Holder;

function rings(): Record<Outcome, Ring> {
  holder.__flowgateLatency ??= {
    hit: { values: new Float64Array(SIZE), next: 0, count: 0 },
    miss: { values: new Float64Array(SIZE), next: 0, count: 0 },
    blocked: { values: new Float64Array(SIZE), next: 0, count: 0 },
  };
  return holder.__flowgateLatency;
}

export function recordLatency(outcome: Outcome, ms: number): void {
  const ring = rings()[outcome];
  ring.values[ring.next] = ms;
  ring.next = (ring.next + 1) % SIZE;
  ring.count = Math.min(ring.count + 1, SIZE);
}

/** Nearest-rank percentile of an unsorted list; null for an empty one. */
export function percentile(values: ArrayLike<number>, p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Array.from(values).sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

function summarize(ring: Ring): { p50: number | null; p95: number | null; count: number } {
  const values = ring.values.subarray(0, ring.count);
  const round = (ms: number | null) => (ms === null ? null : Math.round(ms * 100) / 100);
  return { p50: round(percentile(values, 50)), p95: round(percentile(values, 95)), count: ring.count };
}

export function latencySummary(): LatencySummary {
  const r = rings();
  return { hit: summarize(r.hit), miss: summarize(r.miss), blocked: summarize(r.blocked), scope: "instance" };
}
