"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { toConsumerBars } from "@/lib/dashboard/chart-data";
import { formatAxisIdentity } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { Card, EmptyState, OUTCOME_COLORS, Skeleton } from "@/components/ui";

/** Top callers of this minute and the last, ranked by requests, split into admitted and blocked. */
export function TopConsumers() {
  const { stats, stale } = useStats();
  const bars = stats ? toConsumerBars(stats.rateLimit.topConsumers) : [];
  return (
    <Card testId="top-consumers" title="Top consumers, last 2 minutes" subtitle="Requests per caller (IP, API key hash or simulated client), admitted vs blocked." stale={stale}>
      <div className="flex h-52 w-full flex-col">
        {!stats ? (
          <Skeleton className="h-full w-full" />
        ) : bars.length === 0 ? (
          <EmptyState title="No callers in the last 2 minutes" hint="The simulator’s clients show up here." />
        ) : (
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={bars} layout="vertical" margin={{ top: 0, right: 8, bottom: 0, left: 0 }} barCategoryGap={4}>
              <CartesianGrid stroke="#1e293b" horizontal={false} />
              <XAxis type="number" allowDecimals={false} stroke="#64748b" fontSize={11} />
              <YAxis
                type="category"
                dataKey="name"
                width={112}
                interval={0}
                stroke="#64748b"
                fontSize={10}
                tickFormatter={(id: string) => {
                  const bar = bars.find((b) => b.identity === id);
                  return formatAxisIdentity(id, bar?.tier ?? "anonymous");
                }}
              />
              <Tooltip content={<ChartTooltip labelIsTime={false} />} cursor={{ fill: "#0f172a" }} />
              <Bar dataKey="admitted" name="Admitted" stackId="a" fill={OUTCOME_COLORS.generated} isAnimationActive={false} />
              <Bar dataKey="blocked" name="Blocked" stackId="a" fill={OUTCOME_COLORS.blocked} radius={[0, 3, 3, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        )}
      </div>
    </Card>
  );
}
