"use client";

import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { toHitRatioSeries, trimLeadingEmpty } from "@/lib/dashboard/chart-data";
import { formatClock } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { Card, EmptyState, OUTCOME_COLORS, Skeleton } from "@/components/ui";

/** Share of admitted requests answered from the cache, per bucket and running. */
export function HitRatioChart() {
  const { stats, stale } = useStats();
  const series = stats ? trimLeadingEmpty(toHitRatioSeries(stats.timeseries), (p) => p.ratio === null, 18) : [];
  const empty = stats !== undefined && series.every((p) => p.ratio === null);
  return (
    <Card testId="hit-ratio-chart" title="Cache hit ratio over time" subtitle="Per 10 s (dots) and running since the chart's start (line)." stale={stale}>
      <div className="flex h-52 w-full flex-col">
        {!stats ? (
          <Skeleton className="h-full w-full" />
        ) : empty ? (
          <EmptyState title="No cache lookups yet" hint="Repeat a prompt (or run “Cache warming”) to see hits." />
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: -18 }}>
              <CartesianGrid stroke="#1e293b" vertical={false} />
              <XAxis dataKey="t" tickFormatter={(t: number) => formatClock(t).slice(0, 5)} stroke="#64748b" fontSize={11} minTickGap={40} />
              <YAxis domain={[0, 100]} unit="%" stroke="#64748b" fontSize={11} />
              <Tooltip content={<ChartTooltip unit="%" />} />
              <Line type="monotone" dataKey="cumulative" name="Running" stroke={OUTCOME_COLORS.cached} strokeWidth={2} dot={false} connectNulls isAnimationActive={false} />
              <Line type="monotone" dataKey="ratio" name="This bucket" stroke="#a7f3d0" strokeWidth={0} dot={{ r: 2.5, fill: "#a7f3d0" }} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        )}
      </div>
    </Card>
  );
}
