import type { LabResult } from "@/lib/schemas";
import { ALGORITHMS, type Algorithm } from "@/lib/tiers";

/**
 * Pure helpers of the algorithm-lab panel (no I/O, no React), so unit tests
 * pin them: chart rows from the lab's series, and the figures' wording.
 */

export type LabChartRow = { t: number; label: string; sent: number } & Record<Algorithm, number>;

/** One row per bin: time label in seconds since the run's start, requests sent, admitted per algorithm. */
export function toLabChartRows(result: Pick<LabResult, "series">): LabChartRow[] {
  return result.series.map((point) => {
    const row = { t: point.t, label: formatSeconds(point.t), sent: point.sent } as LabChartRow;
    for (const algorithm of ALGORITHMS) row[algorithm] = point.admitted[algorithm] ?? 0;
    return row;
  });
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

/** "1.9×" — how the most admitted in any window compares with the limit. */
export function formatRatio(maxInAnyWindow: number, limit: number): string {
  if (limit <= 0) return "–";
  return `${(maxInAnyWindow / limit).toFixed(1).replace(/\.0$/, "")}×`;
}

export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}
