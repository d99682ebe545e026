"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { toTrafficSeries, trimLeadingEmpty } from "@/lib/dashboard/chart-data";
import { formatClock } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { Card, EmptyState, LegendDot, OUTCOME_COLORS, Skeleton } from "@/components/ui";

/** Requests per 10 s from the server's time buckets, so the history survives a reload. */
export function TrafficChart({ className }: { className?: string }) {
  const { stats, stale } = useStats();
  const series = stats ? trimLeadingEmpty(toTrafficSeries(stats.timeseries), (p) => p.generated + p.cached + p.blocked === 0, 18) : [];
  const empty = stats !== undefined && series.every((p) => p.generated + p.cached + p.blocked === 0);
  return (
    <Card
      testId="traffic-chart"
      title="Traffic, every 10 seconds"
      subtitle="What happened to each request: answered by the model, answered from the cache, or refused with a 429."
      stale={stale}
      className={className}
      action={
        <div className="hidden flex-wrap justify-end gap-3 sm:flex">
          <LegendDot color={OUTCOME_COLORS.generated} label="Model" />
          <LegendDot color={OUTCOME_COLORS.cached} label="Cache hit" />
          <LegendDot color={OUTCOME_COLORS.blocked} label="Blocked" />
        </div>
      }
    >
      <div className="flex h-64 w-full flex-col">
        {!stats ? (
          <Skeleton className="h-full w-full" />
        ) : empty ? (
          <EmptyState testId="traffic-empty" title="No traffic in the last 10 minutes" hint="Fire the load simulator or send a request with the Try-it panel." />
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: -18 }} barCategoryGap={1}>
              <CartesianGrid stroke="#1e293b" vertical={false} />
              <XAxis dataKey="t" tickFormatter={(t: number) => formatClock(t).slice(0, 5)} stroke="#64748b" fontSize={11} minTickGap={40} />
              <YAxis allowDecimals={false} stroke="#64748b" fontSize={11} />
              <Tooltip content={<ChartTooltip />} cursor={{ fill: "#1e293b", opacity: 0.6 }} />
              <Bar dataKey="generated" name="Model" stackId="1" fill={OUTCOME_COLORS.generated} isAnimationActive={false} />
              <Bar dataKey="cached" name="Cache hit" stackId="1" fill={OUTCOME_COLORS.cached} isAnimationActive={false} />
              <Bar dataKey="blocked" name="Blocked" stackId="1" fill={OUTCOME_COLORS.blocked} radius={[2, 2, 0, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        )}
      </div>
    </Card>
  );
}
