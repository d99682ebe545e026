"use client";

import { Cell, Pie, PieChart, ResponsiveContainer, Tooltip } from "recharts";
import { toKeySlices } from "@/lib/dashboard/chart-data";
import { formatCount } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { CHART_COLORS, Card, EmptyState, OUTCOME_COLORS, Skeleton } from "@/components/ui";

const COLORS: Record<string, string> = {
  rateLimit: CHART_COLORS.violet,
  cache: CHART_COLORS.amber,
  stream: OUTCOME_COLORS.generated,
  counters: CHART_COLORS.neutral,
};

/** What Flowgate keeps in Valkey, by kind, counted without scanning the keyspace. */
export function KeyDistribution() {
  const { stats, stale } = useStats();
  const slices = stats ? toKeySlices(stats.keyDistribution) : [];
  const total = slices.reduce((sum, s) => sum + s.value, 0);
  return (
    <Card testId="key-distribution" title="Keys in Valkey, by kind" subtitle="Counted from index sets and fixed keys: no KEYS, no SCAN." stale={stale}>
      {!stats ? (
        <Skeleton className="h-52 w-full" />
      ) : total === 0 ? (
        <div className="flex h-52">
          <EmptyState title="Nothing stored yet" hint="Each caller gets a window, each new prompt a cache entry." />
        </div>
      ) : (
        <div className="flex h-52 items-center gap-3">
          <div className="relative h-full min-w-0 flex-1">
            <ResponsiveContainer width="100%" height="100%">
              <PieChart title="Keys by kind: the list beside it has the numbers">
                <Pie data={slices} dataKey="value" nameKey="label" innerRadius="58%" outerRadius="88%" paddingAngle={2} stroke="none" rootTabIndex={-1} isAnimationActive={false}>
                  {slices.map((s) => (
                    <Cell key={s.key} fill={COLORS[s.key]} />
                  ))}
                </Pie>
                <Tooltip content={<ChartTooltip labelIsTime={false} />} />
              </PieChart>
            </ResponsiveContainer>
            <div className="pointer-events-none absolute inset-0 flex flex-col items-center justify-center">
              <span className="text-lg font-semibold tabular-nums text-slate-100">{formatCount(total)}</span>
              <span className="text-[10px] uppercase tracking-wide text-slate-400">keys</span>
            </div>
          </div>
          <ul aria-label="Keys by kind" className="w-36 shrink-0 space-y-1.5 text-xs">
            {slices.map((s) => (
              <li key={s.key} className="flex items-center justify-between gap-2 text-slate-400">
                <span className="inline-flex items-center gap-1.5">
                  <span aria-hidden className="h-2 w-2 rounded-full" style={{ backgroundColor: COLORS[s.key] }} />
                  {s.label}
                </span>
                <span className="font-mono tabular-nums text-slate-200">{formatCount(s.value)}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Card>
  );
}
