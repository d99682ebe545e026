"use client";

import dynamic from "next/dynamic";
import type { ReactNode } from "react";
import type { KeyKind, ValkeyViews } from "@/lib/schemas";
import { ErrorState, Skeleton, cx } from "@/components/ui";

/**
 * Building blocks shared by the four "Valkey under the hood" views: the panel
 * with its commands line, figures, scrollable tables, states, and the chart
 * loaders. Charts come in through next/dynamic, so their code is fetched only
 * when a view has data to draw (after the section scrolled near).
 */

const chartLoading = () => <Skeleton className="h-full w-full" />;
export const MemoryChart = dynamic(() => import("@/components/valkey-charts").then((m) => m.MemoryChart), { ssr: false, loading: chartLoading });
export const TtlChart = dynamic(() => import("@/components/valkey-charts").then((m) => m.TtlChart), { ssr: false, loading: chartLoading });
export const UsecSparkline = dynamic(() => import("@/components/valkey-charts").then((m) => m.UsecSparkline), { ssr: false, loading: chartLoading });

/** What every view receives from the section: one poll, shared. */
export interface ViewProps {
  /** undefined while loading, or when there is nothing to show (then `problem` says why). */
  views: ValkeyViews | undefined;
  /** Why there is nothing to show: the route failed, or Valkey was down before any good reading. */
  problem: string | null;
  /** The views shown are the last good ones, not current. */
  stale: boolean;
  className?: string;
}

/** A view of the section: an h3 (the section owns the h2), one line for a stakeholder, the commands that produce it. */
export function ViewPanel({
  title,
  explanation,
  commands,
  children,
  stale,
  testId,
  className,
}: {
  title: string;
  explanation: ReactNode;
  commands: string[];
  children: ReactNode;
  stale?: boolean;
  testId: string;
  className?: string;
}) {
  const headingId = `${testId}-heading`;
  return (
    <section
      data-testid={testId}
      aria-labelledby={headingId}
      className={cx("flex min-w-0 flex-col rounded-xl border border-slate-800 bg-slate-900/60 p-4 sm:p-5", className)}
    >
      <header className="mb-3">
        <h3 id={headingId} className="text-sm font-semibold text-slate-100">
          {title}
        </h3>
        <p className="mt-0.5 text-xs text-slate-400">{explanation}</p>
      </header>
      <div className={cx("flex min-h-0 flex-1 flex-col gap-4 transition-opacity", stale && "opacity-40 grayscale")}>{children}</div>
      <p data-testid={`${testId}-commands`} className="mt-4 border-t border-slate-800 pt-2 text-[11px] leading-relaxed text-slate-400">
        <span className="font-medium text-slate-300">Commands:</span>{" "}
        {commands.map((c, i) => (
          <span key={c}>
            {i > 0 ? <span aria-hidden> · </span> : null}
            <code className="break-words text-sky-300">{c}</code>
            {i < commands.length - 1 ? <span className="sr-only">,</span> : null}
          </span>
        ))}
      </p>
    </section>
  );
}

/** The error when there is nothing to show, else the loading skeleton; render it only while `views` is undefined. */
export function ViewStatus({ problem, lines = 4 }: { problem: string | null; lines?: number }) {
  if (problem) return <ErrorState message={problem} />;
  return (
    <div className="space-y-2" aria-busy="true" aria-label="Loading">
      {Array.from({ length: lines }, (_, i) => (
        <Skeleton key={i} className={cx("h-5", i % 3 === 2 ? "w-2/3" : "w-full")} />
      ))}
    </div>
  );
}

/** An empty state with readable contrast (the hint in slate-400, not 500, on the dark panel). */
export function ViewEmpty({ title, hint, testId, className }: { title: string; hint?: ReactNode; testId?: string; className?: string }) {
  return (
    <div
      data-testid={testId}
      className={cx("flex flex-col items-center justify-center gap-1 rounded-lg border border-dashed border-slate-700 p-4 text-center", className)}
    >
      <p className="text-sm text-slate-300">{title}</p>
      {hint ? <p className="text-xs text-slate-400">{hint}</p> : null}
    </div>
  );
}

export interface Figure {
  label: string;
  value: ReactNode;
  hint?: ReactNode;
  testId?: string;
  tone?: "warn";
}

/** A row of labelled numbers. */
export function Figures({ items, className }: { items: Figure[]; className?: string }) {
  return (
    <dl className={cx("grid grid-cols-2 gap-x-4 gap-y-3 text-xs sm:grid-cols-3", className)}>
      {items.map((f) => (
        <div key={f.label} className="min-w-0">
          <dt className="text-slate-400">{f.label}</dt>
          <dd data-testid={f.testId} className={cx("break-words font-mono text-sm tabular-nums", f.tone === "warn" ? "text-amber-300" : "text-slate-100")}>
            {f.value}
          </dd>
          {f.hint ? <dd className="text-[11px] leading-snug text-slate-400">{f.hint}</dd> : null}
        </div>
      ))}
    </dl>
  );
}

/** An overflow container a keyboard can reach and scroll (WCAG 2.1.1), named for screen readers. */
export function ScrollRegion({ label, children, className, testId }: { label: string; children: ReactNode; className?: string; testId?: string }) {
  return (
    <div
      role="region"
      aria-label={label}
      tabIndex={0}
      data-testid={testId}
      className={cx(
        "min-w-0 overflow-auto rounded-lg border border-slate-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500",
        className,
      )}
    >
      {children}
    </div>
  );
}

export const TH = "sticky top-0 whitespace-nowrap bg-slate-900 px-2 py-1.5 sm:px-2.5 text-left text-[11px] font-medium text-slate-300";
export const TH_NUM = cx(TH, "text-right");
export const TD = "whitespace-nowrap px-2 py-1.5 text-slate-200 sm:px-2.5";
export const TD_NUM = cx(TD, "text-right font-mono tabular-nums");
export const TR = "border-t border-slate-800/80";

/** A small heading inside a view. */
export function SubHeading({ children, id }: { children: ReactNode; id?: string }) {
  return (
    <h4 id={id} className="text-xs font-semibold text-slate-200">
      {children}
    </h4>
  );
}

// ---- formatting (pure) -------------------------------------------------------

const usecFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/**
 * Microseconds as people read them: "3.4 µs", "212 µs", "15,234 µs"; "—" for
 * null. Under 1 µs reads "< 1 µs": latencystats' lowest bucket reports 0.001.
 */
export function formatUsec(us: number | null): string {
  if (us === null || !Number.isFinite(us)) return "—";
  if (us < 1) return us === 0 ? "0 µs" : "< 1 µs";
  if (us < 10) return `${us.toFixed(1)} µs`;
  return `${usecFormat.format(us)} µs`;
}

/** "memory|usage" (commandstats' name for a subcommand) → "MEMORY USAGE". */
export function formatCommand(name: string): string {
  return name.replace(/\|/g, " ").toUpperCase();
}

/** Calls per second: one decimal under 10, "—" until two readings exist. */
export function formatRate(perSec: number | null): string {
  if (perSec === null || !Number.isFinite(perSec)) return "—";
  if (perSec === 0) return "0";
  if (perSec < 10) return perSec.toFixed(1);
  return usecFormat.format(perSec);
}

/** A span of seconds: "42 s", "7 min", "1 h 5 min"; "—" for null. */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 && minutes < 10 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** What each key kind holds, in a stakeholder's words. */
export const KIND_LABELS: Record<KeyKind, { label: string; hint: string }> = {
  limits: { label: "Rate-limit state", hint: "one window per caller and limit" },
  cache: { label: "Cached answers", hint: "one entry per distinct prompt" },
  stream: { label: "Decision stream", hint: "the capped event log" },
  counters: { label: "Counters & charts", hint: "totals, 10 s buckets, top callers" },
};

export const MEMORY_COLORS = { used: "var(--chart-model)", rss: "var(--chart-violet)" } as const; // sky and violet, themed (app/globals.css)
