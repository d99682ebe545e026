"use client";

import { useId, useRef, useState } from "react";
import { Area, AreaChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { mutate } from "swr";
import { toRunSeries } from "@/lib/dashboard/chart-data";
import { formatCount, formatMs } from "@/lib/dashboard/format";
import { simulateLines } from "@/lib/dashboard/simulate-stream";
import { STATS_URL } from "@/lib/hooks/use-stats";
import {
  SIMULATE_BOUNDS,
  errorBodySchema,
  type SimulateOutcome,
  type SimulateRequestInput,
  type SimulateSummary,
} from "@/lib/schemas";
import { ChartTooltip } from "@/components/chart-tooltip";
import { CHART_AXIS, Card, OUTCOME_COLORS, cx } from "@/components/ui";

interface Preset {
  id: string;
  label: string;
  what: string;
  request: Required<Pick<SimulateRequestInput, "count" | "concurrency" | "clients" | "prompts" | "tier">>;
}

export const PRESETS: Preset[] = [
  {
    id: "burst",
    label: "Burst: 50 from one client",
    what: "TokenFlow’s default. One client fires 50 at once: the limit (10/min) lets 10 through, 40 get a 429.",
    request: { count: 50, concurrency: 10, clients: 1, prompts: 5, tier: "anonymous" },
  },
  {
    id: "many",
    label: "Many clients",
    what: "20 clients, 10 requests each: everyone stays within the limit, and shared prompts start hitting the cache.",
    request: { count: 200, concurrency: 20, clients: 20, prompts: 10, tier: "anonymous" },
  },
  {
    id: "warm",
    label: "Cache warming",
    what: "10 clients repeat 3 prompts: after the first answer of each, everything comes from the cache.",
    request: { count: 100, concurrency: 5, clients: 10, prompts: 3, tier: "anonymous" },
  },
  {
    id: "tiers",
    label: "Mixed API-key tiers",
    what: "8 clients across anonymous, free, pro and enterprise plans, 50 requests each: each plan’s limit shows.",
    request: { count: 400, concurrency: 25, clients: 8, prompts: 10, tier: "mixed" },
  },
  {
    id: "abuse",
    label: "Abusive client",
    what: "One client hammers 1,000 requests, 50 at a time: the sliding window admits exactly its limit.",
    request: { count: 1000, concurrency: 50, clients: 1, prompts: 1, tier: "anonymous" },
  },
];

type Run =
  | { phase: "idle" }
  | { phase: "running"; done: number; total: number; outcomes: SimulateOutcome[] }
  | { phase: "done"; total: number; outcomes: SimulateOutcome[]; summary: SimulateSummary }
  | { phase: "error"; message: string; outcomes: SimulateOutcome[] };

function clamp(value: number, bounds: { min: number; max: number }): number {
  if (!Number.isFinite(value)) return bounds.min;
  return Math.min(bounds.max, Math.max(bounds.min, Math.round(value)));
}

/** The one-click load simulator, streaming real progress from /api/simulate (NDJSON). */
export function SimulatorPanel({ className }: { className?: string }) {
  const [presetId, setPresetId] = useState(PRESETS[0]!.id);
  const preset = PRESETS.find((p) => p.id === presetId) ?? PRESETS[0]!;
  const [count, setCount] = useState<number>(preset.request.count);
  const [concurrency, setConcurrency] = useState<number>(preset.request.concurrency);
  const [run, setRun] = useState<Run>({ phase: "idle" });
  const outcomesRef = useRef<SimulateOutcome[]>([]);
  const countId = useId();
  const concurrencyId = useId();
  const running = run.phase === "running";

  function choose(p: Preset) {
    setPresetId(p.id);
    setCount(p.request.count);
    setConcurrency(p.request.concurrency);
  }

  async function fire() {
    if (running) return;
    const body = {
      ...preset.request,
      count: clamp(count, SIMULATE_BOUNDS.count),
      concurrency: clamp(concurrency, SIMULATE_BOUNDS.concurrency),
    };
    setCount(body.count);
    setConcurrency(body.concurrency);
    outcomesRef.current = [];
    setRun({ phase: "running", done: 0, total: body.count, outcomes: [] });
    try {
      const res = await fetch("/api/simulate", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/x-ndjson" },
        body: JSON.stringify(body),
      });
      if (!res.ok || !res.body) {
        const err = errorBodySchema.safeParse(await res.json().catch(() => null));
        throw new Error(err.success ? err.data.error : `The simulator answered ${res.status}`);
      }
      let lastPaint = 0;
      for await (const msg of simulateLines(res.body)) {
        if (msg.type === "progress") {
          outcomesRef.current.push(msg.result.outcome);
          // Repaint at most every 50 ms: a 2,000-request run would otherwise render 2,000 times.
          const t = performance.now();
          if (t - lastPaint > 50 || msg.done === msg.total) {
            lastPaint = t;
            setRun({ phase: "running", done: msg.done, total: msg.total, outcomes: [...outcomesRef.current] });
          }
        } else if (msg.type === "done") {
          setRun({ phase: "done", total: msg.summary.total, outcomes: [...outcomesRef.current], summary: msg.summary });
        } else if (msg.type === "error") {
          throw new Error(msg.error);
        }
      }
      setRun((r) => (r.phase === "running" ? { phase: "error", message: "The run ended early.", outcomes: r.outcomes } : r));
    } catch (error) {
      setRun({ phase: "error", message: (error as Error).message, outcomes: [...outcomesRef.current] });
    } finally {
      void mutate(STATS_URL);
    }
  }

  const outcomes = run.phase === "idle" ? [] : run.outcomes;
  const series = toRunSeries(outcomes, 80);
  const t = series.at(-1) ?? { successful: 0, cached: 0, blocked: 0, failed: 0 };
  const total = run.phase === "running" || run.phase === "done" ? run.total : 0;
  const done = run.phase === "running" ? run.done : run.phase === "done" ? run.total : outcomes.length;
  const percent = total > 0 ? Math.round((100 * done) / total) : 0;

  return (
    <Card
      id="simulator"
      testId="simulator"
      title="Load simulator"
      subtitle="A bounded burst through the real gateway path: identity, sliding window, cache, stream."
      className={className}
    >
      <div role="radiogroup" aria-label="Scenario" className="flex flex-wrap gap-1.5">
        {PRESETS.map((p) => (
          <button
            key={p.id}
            type="button"
            role="radio"
            aria-checked={p.id === presetId}
            disabled={running}
            onClick={() => choose(p)}
            className={cx(
              "rounded-full border px-2.5 py-1 text-xs transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 disabled:cursor-not-allowed disabled:opacity-50",
              p.id === presetId ? "border-sky-500 bg-sky-500/15 text-sky-200" : "border-slate-700 text-slate-300 hover:border-slate-500",
            )}
          >
            {p.label}
          </button>
        ))}
      </div>
      <p className="mt-2 min-h-[2.5rem] text-xs text-slate-400" data-testid="preset-description">
        {preset.what}
      </p>

      <div className="mt-2 grid grid-cols-2 gap-3">
        <label htmlFor={countId} className="text-xs text-slate-400">
          Requests <span className="text-slate-400">({SIMULATE_BOUNDS.count.min}–{formatCount(SIMULATE_BOUNDS.count.max)})</span>
          <input
            id={countId}
            data-testid="sim-count"
            type="number"
            inputMode="numeric"
            min={SIMULATE_BOUNDS.count.min}
            max={SIMULATE_BOUNDS.count.max}
            value={count}
            disabled={running}
            onChange={(e) => setCount(Number(e.target.value))}
            className="mt-1 w-full rounded-md border border-slate-700 bg-slate-950 px-2 py-1.5 font-mono text-sm text-slate-100 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-500/40"
          />
        </label>
        <label htmlFor={concurrencyId} className="text-xs text-slate-400">
          In flight at once <span className="text-slate-400">({SIMULATE_BOUNDS.concurrency.min}–{SIMULATE_BOUNDS.concurrency.max})</span>
          <input
            id={concurrencyId}
            data-testid="sim-concurrency"
            type="number"
            inputMode="numeric"
            min={SIMULATE_BOUNDS.concurrency.min}
            max={SIMULATE_BOUNDS.concurrency.max}
            value={concurrency}
            disabled={running}
            onChange={(e) => setConcurrency(Number(e.target.value))}
            className="mt-1 w-full rounded-md border border-slate-700 bg-slate-950 px-2 py-1.5 font-mono text-sm text-slate-100 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-500/40"
          />
        </label>
      </div>
      <p className="mt-1.5 text-[11px] text-slate-400">
        {preset.request.clients} client{preset.request.clients > 1 ? "s" : ""} · {preset.request.prompts} distinct prompt
        {preset.request.prompts > 1 ? "s" : ""} · plan {preset.request.tier}
      </p>

      <button
        type="button"
        data-testid="sim-fire"
        onClick={fire}
        disabled={running}
        className="mt-3 inline-flex w-full items-center justify-center gap-2 rounded-lg bg-sky-500 px-4 py-2.5 text-sm font-semibold text-slate-950 transition-colors hover:brightness-110 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 focus-visible:ring-offset-2 focus-visible:ring-offset-slate-900 disabled:cursor-wait disabled:bg-slate-700 disabled:text-slate-300"
      >
        {running ? `Running… ${done} / ${total}` : `Fire ${formatCount(clamp(count, SIMULATE_BOUNDS.count))} requests`}
      </button>

      <div className="mt-3">
        <div
          role="progressbar"
          aria-label="Simulator progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
          data-testid="sim-progress"
          className="flex h-2 w-full overflow-hidden rounded-full bg-slate-800"
        >
          {total > 0 ? (
            <>
              <div style={{ width: `${(100 * (t.successful - t.cached)) / total}%`, backgroundColor: OUTCOME_COLORS.generated }} />
              <div style={{ width: `${(100 * t.cached) / total}%`, backgroundColor: OUTCOME_COLORS.cached }} />
              <div style={{ width: `${(100 * t.blocked) / total}%`, backgroundColor: OUTCOME_COLORS.blocked }} />
              <div style={{ width: `${(100 * t.failed) / total}%` }} className="bg-amber-500" />
            </>
          ) : null}
        </div>
        <p className="mt-1 text-right text-[11px] tabular-nums text-slate-400" data-testid="sim-progress-text">
          {run.phase === "idle" ? "Ready" : `${percent}% · ${done} of ${total}`}
          {run.phase === "done" ? ` in ${formatMs(run.summary.durationMs)}` : ""}
        </p>
      </div>

      <dl className="mt-2 grid grid-cols-4 gap-2 text-center" data-testid="sim-summary" aria-live="polite">
        {(
          [
            ["Successful", t.successful, "text-sky-300", "sim-successful"],
            ["Cached", t.cached, "text-emerald-300", "sim-cached"],
            ["Blocked", t.blocked, "text-rose-300", "sim-blocked"],
            ["Failed", t.failed, "text-amber-300", "sim-failed"],
          ] as const
        ).map(([label, value, tone, testId]) => (
          <div key={label} className="rounded-lg bg-slate-950/60 px-1 py-2">
            <dd data-testid={testId} className={cx("text-lg font-semibold tabular-nums", tone)}>
              {formatCount(value)}
            </dd>
            <dt className="text-[11px] text-slate-400">{label}</dt>
          </div>
        ))}
      </dl>

      {run.phase === "error" ? (
        <p role="alert" className="mt-2 rounded-md bg-rose-950/40 px-3 py-2 text-xs text-rose-300">
          {run.message}
        </p>
      ) : null}

      <div className="mt-3 h-24 w-full" data-testid="sim-run-chart">
        {series.length > 1 ? (
          <ResponsiveContainer width="100%" height="100%">
            <AreaChart data={series} margin={{ top: 4, right: 4, bottom: 0, left: -28 }} title="This run's outcomes in the order they finished">
              <XAxis dataKey="done" hide />
              <YAxis allowDecimals={false} {...CHART_AXIS} fontSize={10} />
              <Tooltip content={<ChartTooltip formatLabel={(d) => `After ${d} requests`} />} />
              <Area type="monotone" dataKey="successful" name="Successful" stroke={OUTCOME_COLORS.generated} fill={OUTCOME_COLORS.generated} fillOpacity={0.2} isAnimationActive={false} />
              <Area type="monotone" dataKey="cached" name="Cached" stroke={OUTCOME_COLORS.cached} fill={OUTCOME_COLORS.cached} fillOpacity={0.2} isAnimationActive={false} />
              <Area type="monotone" dataKey="blocked" name="Blocked" stroke={OUTCOME_COLORS.blocked} fill={OUTCOME_COLORS.blocked} fillOpacity={0.2} isAnimationActive={false} />
            </AreaChart>
          </ResponsiveContainer>
        ) : (
          <p className="flex h-full items-center justify-center rounded-lg border border-dashed border-slate-800 text-xs text-slate-400">
            Each run draws its outcomes here, in the order they finished.
          </p>
        )}
      </div>
    </Card>
  );
}
