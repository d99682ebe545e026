"use client";

import { useMemo } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { toConsumerBars } from "@/lib/dashboard/chart-data";
import { formatAxisIdentity } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { CHART_AXIS, CHART_CURSOR, CHART_GRID, Card, EmptyState, OUTCOME_COLORS, Skeleton } from "@/components/ui";

/** Top callers of this minute and the last, ranked by requests, split into admitted and blocked. */
export function TopConsumers() {
  const { stats, stale } = useStats();
  const bars = stats ? toConsumerBars(stats.rateLimit.topConsumers) : [];
  // Recharts redraws everything on each render; most stats polls bring the same callers, so the
  // chart is rebuilt only when its bars change (barsKey), not every 2 s.
  const barsKey = JSON.stringify(bars);
  const chart = useMemo(
    () => (
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={bars} layout="vertical" margin={{ top: 0, right: 8, bottom: 0, left: 0 }} barCategoryGap={4} title="Top consumers chart: the arrow keys step through the callers">
              <CartesianGrid stroke={CHART_GRID} horizontal={false} />
              <XAxis type="number" allowDecimals={false} {...CHART_AXIS} />
              <YAxis
                type="category"
                dataKey="name"
                width={112}
                interval={0}
                {...CHART_AXIS}
                fontSize={10}
                tickFormatter={(id: string) => {
                  const bar = bars.find((b) => b.identity === id);
                  return formatAxisIdentity(id, bar?.tier ?? "anonymous");
                }}
              />
              <Tooltip content={<ChartTooltip labelIsTime={false} />} cursor={CHART_CURSOR} />
              <Bar dataKey="admitted" name="Admitted" stackId="a" fill={OUTCOME_COLORS.generated} isAnimationActive={false} />
              <Bar dataKey="blocked" name="Blocked" stackId="a" fill={OUTCOME_COLORS.blocked} radius={[0, 3, 3, 0]} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
    ),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- barsKey stands for bars
    [barsKey],
  );
  return (
    <Card testId="top-consumers" title="Top consumers, last 2 minutes" subtitle="Requests per caller (IP, API key hash or simulated client), admitted vs blocked." stale={stale}>
      <div className="flex h-52 w-full flex-col">
        {!stats ? (
          <Skeleton className="h-full w-full" />
        ) : bars.length === 0 ? (
          <EmptyState title="No callers in the last 2 minutes" hint="The simulator’s clients show up here." />
        ) : (
          chart
        )}
      </div>
      {bars.length > 0 ? (
        // A table ignores sr-only's 1px width; the wrapper clips it (else it widens a phone's page).
        <div className="sr-only">
          <table>
            <caption>Requests per caller, last 2 minutes</caption>
            <thead>
              <tr>
                <th scope="col">Caller</th>
                <th scope="col">Plan</th>
                <th scope="col">Admitted</th>
                <th scope="col">Blocked</th>
              </tr>
            </thead>
            <tbody>
              {bars.map((b) => (
                <tr key={b.identity}>
                  <th scope="row">{formatAxisIdentity(b.identity, b.tier)}</th>
                  <td>{b.tier}</td>
                  <td>{b.admitted}</td>
                  <td>{b.blocked}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Card>
  );
}
