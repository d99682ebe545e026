import type { ReactNode } from "react";

/** Small shared building blocks of the dashboard: cards, skeletons, empty states, badges. */

export function cx(...classes: (string | false | null | undefined)[]): string {
  return classes.filter(Boolean).join(" ");
}

export function Card({
  title,
  subtitle,
  action,
  children,
  className,
  stale,
  testId,
  id,
}: {
  title: string;
  subtitle?: ReactNode;
  action?: ReactNode;
  children: ReactNode;
  className?: string;
  /** Grey the content out: the numbers are not current. */
  stale?: boolean;
  testId?: string;
  id?: string;
}) {
  return (
    <section
      id={id}
      data-testid={testId}
      aria-label={title}
      className={cx("flex min-w-0 flex-col rounded-xl border border-slate-800 bg-slate-900/60 p-4 sm:p-5", className)}
    >
      <header className="mb-3 flex items-start justify-between gap-3">
        <div className="min-w-0">
          <h2 className="text-sm font-semibold text-slate-100">{title}</h2>
          {subtitle ? <p className="mt-0.5 text-xs text-slate-400">{subtitle}</p> : null}
        </div>
        {action}
      </header>
      <div className={cx("flex min-h-0 flex-1 flex-col transition-opacity", stale && "opacity-40 grayscale")}>{children}</div>
    </section>
  );
}

export function Skeleton({ className }: { className?: string }) {
  return <div aria-hidden className={cx("animate-pulse rounded-md bg-slate-800/70", className)} />;
}

export function EmptyState({ title, hint, testId }: { title: string; hint?: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId} className="flex flex-1 flex-col items-center justify-center gap-1 rounded-lg border border-dashed border-slate-800 p-6 text-center">
      <p className="text-sm text-slate-300">{title}</p>
      {hint ? <p className="text-xs text-slate-400">{hint}</p> : null}
    </div>
  );
}

export function ErrorState({ message }: { message: string }) {
  return (
    <div role="alert" className="flex flex-1 items-center justify-center rounded-lg border border-rose-900/60 bg-rose-950/30 p-6 text-center text-sm text-rose-300">
      {message}
    </div>
  );
}

const BADGE_TONES = {
  blocked: "bg-rose-500/15 text-rose-300 ring-rose-500/30",
  hit: "bg-emerald-500/15 text-emerald-300 ring-emerald-500/30",
  miss: "bg-sky-500/15 text-sky-300 ring-sky-500/30",
  neutral: "bg-slate-500/15 text-slate-300 ring-slate-500/30",
  warn: "bg-amber-500/15 text-amber-300 ring-amber-500/30",
} as const;

export function Badge({ tone, children }: { tone: keyof typeof BADGE_TONES; children: ReactNode }) {
  return (
    <span className={cx("inline-flex items-center whitespace-nowrap rounded-md px-1.5 py-0.5 text-[11px] font-medium ring-1 ring-inset", BADGE_TONES[tone])}>
      {children}
    </span>
  );
}

/**
 * Colours of the three outcomes, shared by charts, badges and legends. CSS
 * variables (app/globals.css), so SVG fills and inline styles follow the theme:
 * the 400s on dark, the 600s on light.
 */
export const OUTCOME_COLORS = {
  generated: "var(--chart-model)", // admitted, answered by the model
  cached: "var(--chart-cache)", // admitted, answered from the cache
  blocked: "var(--chart-blocked)", // refused by the rate limit
} as const;

/** The other chart colours, themed the same way. */
export const CHART_COLORS = {
  violet: "var(--chart-violet)",
  amber: "var(--chart-amber)",
  blue: "var(--chart-blue)",
  red: "var(--chart-red)",
  neutral: "var(--chart-neutral)",
  cacheSoft: "var(--chart-cache-soft)",
  barMuted: "var(--chart-bar-muted)",
} as const;

/** Grid, axes and hover cursor of every chart; tick text keeps 4.5:1 on the panels in both themes. */
export const CHART_GRID = "var(--chart-grid)";
export const CHART_CURSOR = { fill: "var(--chart-cursor)" };
export const CHART_AXIS = { stroke: "var(--chart-axis)", tick: { fill: "var(--chart-tick)" }, fontSize: 11 } as const;

export function LegendDot({ color, label }: { color: string; label: string }) {
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-slate-400">
      <span aria-hidden className="h-2 w-2 rounded-full" style={{ backgroundColor: color }} />
      {label}
    </span>
  );
}
