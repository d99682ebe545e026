"use client";

import { useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { DOOR_LABELS, toTrafficSeries, timeTicks, trimLeadingEmpty, type TrafficPoint } from "@/lib/dashboard/chart-data";
import { formatClock, formatCount } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { ChartTooltip } from "@/components/chart-tooltip";
import { CHART_AXIS, CHART_COLORS, CHART_CURSOR, CHART_GRID, Card, EmptyState, LegendDot, OUTCOME_COLORS, Skeleton, cx } from "@/components/ui";

interface Stack {
  key: keyof Omit<TrafficPoint, "t">;
  name: string;
  color: string;
}

type View = "outcome" | "door";

// One question at a time: the same bars, stacked by what happened or by the door they came in through.
const VIEWS: Record<View, { label: string; subtitle: string; stacks: Stack[] }> = {
  outcome: {
    label: "Outcome",
    subtitle: "What happened to each request: answered by the model, answered from the cache, or refused with a 429.",
    stacks: [
      { key: "generated", name: "Model", color: OUTCOME_COLORS.generated },
      { key: "cached", name: "Cache hit", color: OUTCOME_COLORS.cached },
      { key: "blocked", name: "Blocked", color: OUTCOME_COLORS.blocked },
    ],
  },
  door: {
    label: "Door",
    subtitle: "Where each request came in, refused ones included: POST /api/generate or the OpenAI API (POST /v1/chat/completions).",
    stacks: [
      { key: "generate", name: DOOR_LABELS.generate, color: CHART_COLORS.neutral },
      { key: "openai", name: DOOR_LABELS.openai, color: CHART_COLORS.violet },
    ],
  },
};

/** Requests per 10 s from the server's time buckets, so the history survives a reload. */
export function TrafficChart({ className }: { className?: string }) {
  const { stats, stale } = useStats();
  const [view, setView] = useState<View>("outcome");
  const { subtitle, stacks } = VIEWS[view];
  const series = stats ? trimLeadingEmpty(toTrafficSeries(stats.timeseries), (p) => p.generated + p.cached + p.blocked === 0, 18) : [];
  const empty = stats !== undefined && series.every((p) => p.generated + p.cached + p.blocked === 0);
  const summary = empty ? "" : describeTraffic(series, stacks);
  // Recharts redraws everything on each render; the stats poll (every 2 s) mostly brings the same
  // buckets, so the chart is rebuilt only when its data does (seriesKey), not on every poll.
  const seriesKey = JSON.stringify(series);
  const axis = timeTicks(series);
  const chart = useMemo(
    () => (
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: -18 }} barCategoryGap={1} title="Traffic chart: the arrow keys step through the bars">
              <CartesianGrid stroke={CHART_GRID} vertical={false} />
              <XAxis dataKey="t" ticks={axis.ticks} tickFormatter={axis.label} {...CHART_AXIS} minTickGap={40} />
              <YAxis allowDecimals={false} {...CHART_AXIS} />
              <Tooltip content={<ChartTooltip />} cursor={CHART_CURSOR} />
              {stacks.map((s, i) => (
                <Bar
                  key={s.key}
                  dataKey={s.key}
                  name={s.name}
                  stackId="1"
                  fill={s.color}
                  radius={i === stacks.length - 1 ? [2, 2, 0, 0] : undefined}
                  isAnimationActive={false}
                />
              ))}
            </BarChart>
          </ResponsiveContainer>
    ),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- seriesKey stands for series
    [seriesKey, stacks],
  );
  return (
    <Card
      testId="traffic-chart"
      title="Traffic, every 10 seconds"
      subtitle={subtitle}
      stale={stale}
      className={className}
      action={
        <div className="flex shrink-0 flex-col items-end gap-2">
          <div role="group" aria-label="Stack the bars by" className="flex gap-1">
            {(Object.keys(VIEWS) as View[]).map((v) => (
              <button
                key={v}
                type="button"
                aria-pressed={v === view}
                onClick={() => setView(v)}
                className={cx(
                  "rounded-full border px-2.5 py-0.5 text-xs transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500",
                  v === view ? "border-sky-500 bg-sky-500/15 text-sky-200" : "border-slate-700 text-slate-300 hover:border-slate-500",
                )}
              >
                {VIEWS[v].label}
              </button>
            ))}
          </div>
          <div className="hidden flex-wrap justify-end gap-3 sm:flex">
            {stacks.map((s) => (
              <LegendDot key={s.key} color={s.color} label={s.name} />
            ))}
          </div>
        </div>
      }
    >
      <div className="flex h-64 w-full flex-col">
        {!stats ? (
          <Skeleton className="h-full w-full" />
        ) : empty ? (
          <EmptyState testId="traffic-empty" title="No traffic in the last 10 minutes" hint="Fire the load simulator or send a request with the Try-it panel." />
        ) : (
          chart
        )}
      </div>
      {summary ? <p className="sr-only" data-testid="traffic-summary">{summary}</p> : null}
    </Card>
  );
}

/** The chart in one sentence, for screen readers: the span, each stack's total and the busiest bucket. */
function describeTraffic(series: TrafficPoint[], stacks: Stack[]): string {
  const first = series[0];
  const last = series[series.length - 1];
  if (!first || !last) return "";
  const totals = stacks.map((s) => `${s.name} ${formatCount(series.reduce((sum, p) => sum + p[s.key], 0))}`);
  const busiest = series.reduce((max, p) => (p.generated + p.cached + p.blocked > max.generated + max.cached + max.blocked ? p : max), first);
  return `Requests per 10 seconds from ${formatClock(first.t)} to ${formatClock(last.t + 10_000)}: ${totals.join(", ")}. Busiest: ${formatCount(busiest.generated + busiest.cached + busiest.blocked)} requests at ${formatClock(busiest.t)}.`;
}
