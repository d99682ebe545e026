"use client";

import { formatClock } from "@/lib/dashboard/format";

interface Row {
  name?: string | number;
  value?: number | string | readonly (string | number)[] | null;
  color?: string;
  dataKey?: unknown;
}

/** One tooltip for every chart: exact numbers, a colour key, dark. */
export function ChartTooltip({
  active,
  payload,
  label,
  labelIsTime = true,
  unit = "",
  formatLabel,
}: {
  active?: boolean;
  payload?: readonly Row[];
  label?: string | number;
  labelIsTime?: boolean;
  unit?: string;
  formatLabel?: (label: string | number) => string;
}) {
  if (!active || !payload || payload.length === 0) return null;
  const title = formatLabel && label !== undefined
    ? formatLabel(label)
    : labelIsTime && typeof label === "number" ? `${formatClock(label)} – ${formatClock(label + 10_000)}` : String(label ?? "");
  return (
    <div className="rounded-lg border border-slate-700 bg-slate-950/95 px-3 py-2 text-xs shadow-xl">
      {title ? <p className="mb-1 font-medium text-slate-200">{title}</p> : null}
      <ul className="space-y-0.5">
        {payload.map((row) => (
          <li key={String(row.dataKey ?? row.name)} className="flex items-center justify-between gap-4 text-slate-300">
            <span className="inline-flex items-center gap-1.5">
              <span aria-hidden className="h-2 w-2 rounded-full" style={{ backgroundColor: row.color }} />
              {row.name}
            </span>
            <span className="font-mono tabular-nums text-slate-100">
              {row.value === null || row.value === undefined ? "—" : typeof row.value === "number" ? `${Number.isInteger(row.value) ? row.value : row.value.toFixed(1)}${unit}` : String(row.value)}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
