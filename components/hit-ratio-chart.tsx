"use client";

import { useMemo } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { toHitRatioSeries, timeTicks, trimLeadingEmpty, type HitRatioPoint } from "@/lib/dashboard/chart-data";
import { formatClock } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { CHART_AXIS, CHART_COLORS, CHART_GRID, Card, EmptyState, OUTCOME_COLORS, Skeleton } from "@/components/ui";

/** Share of admitted requests answered from the cache, per bucket and running. */
export function HitRatioChart() {
  const { stats, stale } = useStats();
  const series = stats ? trimLeadingEmpty(toHitRatioSeries(stats.timeseries), (p) => p.ratio === null, 18) : [];
  const empty = stats !== undefined && series.every((p) => p.ratio === null);
  // Recharts redraws everything on each render; the stats poll (every 2 s) mostly brings the same
  // buckets, so the chart is rebuilt only when its data does (seriesKey), not on every poll.
  const seriesKey = JSON.stringify(series);
  const axis = timeTicks(series);
  const chart = useMemo(
    () => (
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: -18 }} title="Cache hit ratio chart: the arrow keys step through the buckets">
              <CartesianGrid stroke={CHART_GRID} vertical={false} />
              <XAxis dataKey="t" ticks={axis.ticks} tickFormatter={axis.label} {...CHART_AXIS} minTickGap={40} />
              <YAxis domain={[0, 100]} unit="%" {...CHART_AXIS} />
              <Tooltip content={<ChartTooltip unit="%" />} />
              <Line type="monotone" dataKey="cumulative" name="Running" stroke={OUTCOME_COLORS.cached} strokeWidth={2} dot={false} connectNulls isAnimationActive={false} />
              <Line type="monotone" dataKey="ratio" name="This bucket" stroke={CHART_COLORS.cacheSoft} strokeWidth={0} dot={{ r: 2.5, fill: CHART_COLORS.cacheSoft }} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
    ),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- seriesKey stands for series
    [seriesKey],
  );
  return (
    <Card testId="hit-ratio-chart" title="Cache hit ratio over time" subtitle="Per 10 s (dots) and running since the chart's start (line)." stale={stale}>
      <div className="flex h-52 w-full flex-col">
        {!stats ? (
          <Skeleton className="h-full w-full" />
        ) : empty ? (
          <EmptyState title="No cache lookups yet" hint="Repeat a prompt (or run “Cache warming”) to see hits." />
        ) : (
          chart
        )}
      </div>
      {!empty && series.length > 0 ? <p className="sr-only">{describeHitRatio(series)}</p> : null}
    </Card>
  );
}

/** The chart in one sentence, for screen readers: the running ratio now and the range of the buckets. */
function describeHitRatio(series: HitRatioPoint[]): string {
  const measured = series.filter((p) => p.ratio !== null);
  const first = series[0];
  const last = series[series.length - 1];
  const now = [...series].reverse().find((p) => p.cumulative !== null)?.cumulative;
  if (!first || !last || measured.length === 0 || now === undefined || now === null) return "";
  const ratios = measured.map((p) => p.ratio as number);
  return `Cache hit ratio from ${formatClock(first.t)} to ${formatClock(last.t + 10_000)}: ${Math.round(now)}% running; per 10 seconds between ${Math.round(Math.min(...ratios))}% and ${Math.round(Math.max(...ratios))}% over ${measured.length} buckets with lookups.`;
}
