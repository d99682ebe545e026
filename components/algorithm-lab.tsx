"use client";

import { useState } from "react";
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import useSWR from "swr";
import { formatBytes, formatRatio, toLabChartRows } from "@/lib/lab-view";
import { labResultSchema, type LabResult } from "@/lib/schemas";
import { ALGORITHMS, type Algorithm } from "@/lib/tiers";
import { CHART_AXIS, CHART_COLORS, CHART_GRID } from "@/components/ui";

/**
 * The algorithm lab: the same burst pattern (a burst on each side of a
 * window boundary, then twice the nominal rate) run through all four
 * limiters by POST /api/lab, side by side: admitted requests over time, how
 * far each goes beyond the nominal rate, and its memory per client.
 */

const COLORS: Record<Algorithm, string> = {
  "sliding-log": "var(--chart-cache)",
  "sliding-counter": CHART_COLORS.blue,
  "token-bucket": CHART_COLORS.amber,
  "fixed-window": CHART_COLORS.red,
};

const LIMITS = [5, 10, 20] as const;

class LabError extends Error {}

async function runLab([url, limit]: [string, number]): Promise<LabResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ limit }),
    cache: "no-store",
  });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const message = body && typeof body === "object" && "error" in body ? String((body as { error: unknown }).error) : "";
    throw new LabError(message || `POST ${url} answered ${res.status}`);
  }
  return labResultSchema.parse(body);
}

export function AlgorithmLab() {
  const [limit, setLimit] = useState<number>(10);
  const { data, error, isLoading, isValidating, mutate } = useSWR(["/api/lab", limit] as [string, number], runLab, {
    revalidateOnFocus: false,
    revalidateOnReconnect: false,
    shouldRetryOnError: false,
  });

  return (
    <section data-testid="algorithm-lab" aria-labelledby="lab-heading" className="rounded-xl border border-slate-800 bg-slate-900/60 p-4 text-slate-100">
      <header className="mb-3 flex flex-wrap items-center justify-between gap-3">
        <div>
          <h2 id="lab-heading" className="text-lg font-semibold">Algorithm lab</h2>
          <p className="text-xs text-slate-400">
            One burst pattern, four limiters, simulated clock on private keys.
            {data ? ` ${data.sent} requests over ${data.windows} windows of ${data.windowMs / 1000} s, limit ${data.limit}.` : ""}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <label className="text-xs text-slate-400" htmlFor="lab-limit">
            limit / window
          </label>
          <select
            id="lab-limit"
            data-testid="lab-limit"
            value={limit}
            onChange={(e) => setLimit(Number(e.target.value))}
            className="rounded-md border border-slate-700 bg-slate-950 px-2 py-1 text-sm focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-500/40"
          >
            {LIMITS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
          <button
            type="button"
            data-testid="lab-run"
            onClick={() => void mutate()}
            disabled={isValidating}
            className="rounded-md bg-sky-500 px-3 py-1 text-sm font-semibold text-slate-950 hover:brightness-110 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 focus-visible:ring-offset-2 focus-visible:ring-offset-slate-900 disabled:cursor-wait disabled:opacity-60"
          >
            {isValidating ? "Running…" : "Run again"}
          </button>
        </div>
      </header>

      {isLoading ? (
        <div data-testid="lab-loading" className="space-y-3" aria-busy="true">
          <div className="h-56 animate-pulse rounded-lg bg-slate-800/70" />
          <div className="h-24 animate-pulse rounded-lg bg-slate-800/70" />
        </div>
      ) : error ? (
        <div data-testid="lab-error" role="alert" className="rounded-lg border border-red-900 bg-red-950/40 p-3 text-sm text-red-300">
          The lab could not run: {(error as Error).message}
          <button type="button" onClick={() => void mutate()} className="ml-2 rounded underline hover:text-red-200 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500">
            Try again
          </button>
        </div>
      ) : !data || data.algorithms.length === 0 ? (
        <p data-testid="lab-empty" className="rounded-lg bg-slate-800/40 p-3 text-sm text-slate-400">
          No results yet. Press “Run again” to send the burst pattern through the four algorithms.
        </p>
      ) : (
        <LabView data={data} />
      )}
    </section>
  );
}

function LabView({ data }: { data: LabResult }) {
  const rows = toLabChartRows(data);
  return (
    <div className="space-y-4">
      <div data-testid="lab-chart" className="h-64 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -16 }} title="Algorithm lab chart: the arrow keys step through the time steps">
            <CartesianGrid stroke={CHART_GRID} vertical={false} />
            <XAxis dataKey="label" {...CHART_AXIS} interval={Math.max(0, Math.floor(rows.length / 10) - 1)} />
            <YAxis allowDecimals={false} {...CHART_AXIS} />
            <Tooltip
              contentStyle={{ background: "var(--color-slate-900)", border: "1px solid var(--color-slate-700)", borderRadius: 8, fontSize: 12 }}
              labelStyle={{ color: "var(--color-slate-200)" }}
            />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar dataKey="sent" name="sent" fill={CHART_COLORS.barMuted} isAnimationActive={false} />
            {ALGORITHMS.map((a) => (
              <Line
                key={a}
                type="stepAfter"
                dataKey={a}
                name={data.algorithms.find((x) => x.algorithm === a)?.label ?? a}
                stroke={COLORS[a]}
                strokeWidth={2}
                dot={false}
                isAnimationActive={false}
              />
            ))}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <p className="sr-only">
        The chart plots, for each time step, the requests sent (bars) and the requests each algorithm admitted (lines); the table below gives
        each algorithm&apos;s totals.
      </p>

      {/* Wider than a phone: a keyboard can reach it and scroll it sideways. */}
      <div
        role="region"
        aria-label="Algorithm lab results"
        tabIndex={0}
        className="overflow-x-auto rounded focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500"
      >
        <table data-testid="lab-table" className="w-full text-left text-sm">
          <thead className="text-xs uppercase text-slate-400">
            <tr>
              <th className="py-1 pr-3 font-medium">Algorithm</th>
              <th className="py-1 pr-3 text-right font-medium">Admitted</th>
              <th className="py-1 pr-3 text-right font-medium">Boundary burst</th>
              <th className="py-1 pr-3 text-right font-medium">Most in one window</th>
              <th className="py-1 pr-3 text-right font-medium">Beyond nominal</th>
              <th className="py-1 text-right font-medium">Memory / client</th>
            </tr>
          </thead>
          <tbody>
            {data.algorithms.map((a) => (
              <tr key={a.algorithm} data-testid={`lab-row-${a.algorithm}`} className="border-t border-slate-800">
                <td className="py-1.5 pr-3">
                  <span className="mr-2 inline-block h-2 w-2 rounded-full" style={{ background: COLORS[a.algorithm] }} />
                  {a.label}
                </td>
                <td className="py-1.5 pr-3 text-right tabular-nums">
                  {a.admitted} / {data.sent}
                </td>
                <td className="py-1.5 pr-3 text-right tabular-nums">{a.boundaryBurstAdmitted}</td>
                <td className="py-1.5 pr-3 text-right tabular-nums">
                  {a.maxInAnyWindow} <span className="text-slate-400">({formatRatio(a.maxInAnyWindow, data.limit)})</span>
                </td>
                <td
                  data-testid={`lab-beyond-${a.algorithm}`}
                  className={`py-1.5 pr-3 text-right tabular-nums ${a.beyondNominal > 0 ? "text-amber-300" : "text-emerald-300"}`}
                >
                  {a.beyondNominal > 0 ? `+${a.beyondNominal}` : "0"}
                </td>
                <td className="py-1.5 text-right tabular-nums">
                  {formatBytes(a.memoryBytes)} <span className="text-slate-400">{a.keyType}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="mt-2 text-xs text-slate-400">{data.pattern}. Memory: peak MEMORY USAGE of the client's key.</p>
      </div>
    </div>
  );
}
