"use client";

import { Area, AreaChart, Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatClock } from "@/lib/dashboard/format";
import type { MemorySample, TtlBucket } from "@/lib/schemas";
import { ChartTooltip } from "@/components/chart-tooltip";
import { CHART_AXIS, CHART_COLORS, CHART_CURSOR, CHART_GRID } from "@/components/ui";
import { MEMORY_COLORS } from "@/components/valkey-view-parts";

/**
 * The section's charts, loaded with next/dynamic (see valkey-view-parts.tsx).
 * They get plain props and draw only; every one has a text alternative next
 * to it in the view. Colours are the theme's chart variables (components/ui.tsx).
 */

const AXIS = CHART_AXIS;
const MB = 1024 * 1024;

/** Used memory and RSS over the last hour, in MB (the tooltip's unit). */
export function MemoryChart({ series }: { series: MemorySample[] }) {
  const points = series.map((s) => ({ t: s.t, used: s.usedBytes / MB, rss: s.rssBytes / MB }));
  // A fresh server has one or two samples: draw them as dots, or nothing would show.
  const dots = points.length < 12;
  // Under ten minutes of history HH:MM would repeat itself along the axis.
  const span = points.length > 1 ? points[points.length - 1]!.t - points[0]!.t : 0;
  const tick = (t: number) => (span < 600_000 ? formatClock(t) : formatClock(t).slice(0, 5));
  return (
    <ResponsiveContainer width="100%" height="100%">
      <AreaChart data={points} margin={{ top: 6, right: 8, bottom: 0, left: -12 }} title="Memory over the last hour">
        <CartesianGrid stroke={CHART_GRID} vertical={false} />
        <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} tickFormatter={tick} minTickGap={48} {...AXIS} />
        <YAxis tickFormatter={(v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)}`} unit=" MB" width={64} {...AXIS} />
        <Tooltip content={<ChartTooltip unit=" MB" />} />
        <Area type="monotone" dataKey="rss" name="RSS (from the OS)" stroke={MEMORY_COLORS.rss} fill="none" strokeWidth={1.5} strokeDasharray="4 3" dot={dots ? { r: 2.5, fill: MEMORY_COLORS.rss } : false} isAnimationActive={false} />
        <Area type="monotone" dataKey="used" name="Used by data" stroke={MEMORY_COLORS.used} fill={MEMORY_COLORS.used} fillOpacity={0.18} strokeWidth={2} dot={dots ? { r: 2.5, fill: MEMORY_COLORS.used } : false} isAnimationActive={false} />
      </AreaChart>
    </ResponsiveContainer>
  );
}

/** Keys by remaining life, one horizontal bar per bucket: the bucket labels stay readable at 360 px. */
export function TtlChart({ buckets, color, name }: { buckets: TtlBucket[]; color: string; name: string }) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <BarChart data={buckets} layout="vertical" margin={{ top: 0, right: 8, bottom: 0, left: 0 }} barCategoryGap={2} title={`${name} by time left`}>
        <CartesianGrid stroke={CHART_GRID} horizontal={false} />
        <XAxis type="number" allowDecimals={false} {...AXIS} fontSize={10} />
        <YAxis type="category" dataKey="label" width={92} interval={0} {...AXIS} fontSize={10} />
        <Tooltip content={<ChartTooltip labelIsTime={false} formatLabel={(l) => `expires in ${l}`} />} cursor={CHART_CURSOR} />
        <Bar dataKey="count" name={name} fill={color} radius={[0, 2, 2, 0]} isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}

/** Valkey µs per script call, one point per 10 s sample; gaps where there were no calls. */
export function UsecSparkline({ series }: { series: MemorySample[] }) {
  const points = series.map((s) => ({ t: s.t, usec: s.scriptUsecPerCall }));
  const dots = points.filter((p) => p.usec !== null).length < 12;
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={points} margin={{ top: 4, right: 4, bottom: 0, left: 4 }} title="Valkey time per script call, last hour">
        <XAxis dataKey="t" type="number" scale="time" domain={["dataMin", "dataMax"]} hide />
        <YAxis hide domain={[0, "auto"]} />
        <Tooltip content={<ChartTooltip unit=" µs" />} />
        <Line type="monotone" dataKey="usec" name="µs per script call" stroke={CHART_COLORS.amber} strokeWidth={1.5} dot={dots ? { r: 2, fill: CHART_COLORS.amber } : false} isAnimationActive={false} />
      </LineChart>
    </ResponsiveContainer>
  );
}
