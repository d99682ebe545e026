"use client";

import type { ReactNode } from "react";
import { toDoorSplit } from "@/lib/dashboard/chart-data";
import { formatCost, formatCount, formatMs, formatPercent, ratio } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import type { DoorCounts } from "@/lib/schemas";
import { Skeleton, cx } from "@/components/ui";

const TONES = {
  sky: "from-sky-500/10 border-sky-900/60",
  rose: "from-rose-500/10 border-rose-900/60",
  emerald: "from-emerald-500/10 border-emerald-900/60",
  amber: "from-amber-500/10 border-amber-900/60",
  violet: "from-violet-500/10 border-violet-900/60",
  slate: "from-slate-500/10 border-slate-800",
} as const;

function StatCard({
  label,
  value,
  detail,
  tone,
  testId,
  loading,
  stale,
}: {
  label: string;
  value: ReactNode;
  detail: ReactNode;
  tone: keyof typeof TONES;
  testId: string;
  loading: boolean;
  stale: boolean;
}) {
  return (
    <div
      data-testid={testId}
      className={cx("min-w-0 rounded-xl border bg-gradient-to-b to-slate-900/40 p-4 transition-opacity", TONES[tone], stale && "opacity-40 grayscale")}
    >
      <p className="truncate text-xs font-medium text-slate-400">{label}</p>
      {loading ? (
        <>
          <Skeleton className="mt-2 h-7 w-20" />
          <Skeleton className="mt-2 h-3 w-28" />
        </>
      ) : (
        <>
          <p data-testid={`${testId}-value`} className="mt-1 truncate text-2xl font-semibold tabular-nums text-slate-50">
            {value}
          </p>
          <p className="mt-1 line-clamp-2 min-h-[2rem] text-xs text-slate-400">{detail}</p>
        </>
      )}
    </div>
  );
}

/** Requests per door, as one compact row under the cards: two numbers do not need a card each. */
function DoorSplit({ doors, stale }: { doors: DoorCounts | undefined; stale: boolean }) {
  const split = doors ? toDoorSplit(doors) : [];
  return (
    <div
      data-testid="door-split"
      role="group"
      aria-label="Requests per door"
      className={cx(
        "flex flex-wrap items-center gap-x-5 gap-y-1 rounded-xl border border-slate-800 bg-slate-900/40 px-4 py-2 text-xs text-slate-400 transition-opacity",
        stale && "opacity-40 grayscale",
      )}
    >
      <span className="font-medium text-slate-300">Doors, since start</span>
      {!doors ? (
        <Skeleton className="h-4 w-56" />
      ) : split.every((d) => d.requests === 0) ? (
        <span data-testid="door-split-empty">No requests through either door yet</span>
      ) : (
        split.map((d) => (
          <span key={d.door} data-testid={`door-split-${d.door}`}>
            {d.label}{" "}
            <span data-testid={`door-split-${d.door}-value`} className="font-mono tabular-nums text-slate-100">
              {formatCount(d.requests)}
            </span>{" "}
            ({formatPercent(d.share, 0)})
          </span>
        ))
      )}
    </div>
  );
}

/** The six headline numbers (traffic, refusals, cache effect, savings, latency), then the door split. */
export function StatCards() {
  const { stats, state, stale } = useStats();
  const loading = !stats;
  const s = stats;
  const blockedShare = s ? ratio(s.totals.blocked, s.totals.requests) : null;
  return (
    <div className="flex flex-col gap-3" aria-busy={state === "loading"}>
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <StatCard
          testId="card-rpm"
          tone="sky"
          label="Requests / min"
          value={s ? formatCount(s.rateLimit.requestsPerMinute) : ""}
          detail={s ? `${formatCount(s.totals.requests)} since start` : ""}
          loading={loading}
          stale={stale}
        />
        <StatCard
          testId="card-blocked"
          tone="rose"
          label="Blocked (429)"
          value={s ? formatCount(s.totals.blocked) : ""}
          detail={
            s
              ? s.totals.requests === 0
                ? "no requests yet"
                : `${formatPercent(blockedShare)} of requests · ${formatCount(s.rateLimit.blockedPerMinute)} in the last minute`
              : ""
          }
          loading={loading}
          stale={stale}
        />
        <StatCard
          testId="card-hit-ratio"
          tone="emerald"
          label="Cache hit ratio"
          value={s ? formatPercent(s.cache.total > 0 ? s.cache.hitRatio : null) : ""}
          detail={s ? `${formatCount(s.cache.hits)} ${s.cache.hits === 1 ? "hit" : "hits"} · ${formatCount(s.cache.misses)} ${s.cache.misses === 1 ? "miss" : "misses"}` : ""}
          loading={loading}
          stale={stale}
        />
        <StatCard
          testId="card-cached"
          tone="amber"
          label="Cached prompts"
          value={s ? formatCount(s.cache.cachedKeys) : ""}
          detail={s ? `${formatCount(s.rateLimit.totalKeys)} ${s.rateLimit.totalKeys === 1 ? "caller" : "callers"} in the last minute` : ""}
          loading={loading}
          stale={stale}
        />
        <StatCard
          testId="card-saved"
          tone="violet"
          label="Saved by the cache"
          value={s ? formatCost(s.cache.costSaved) : ""}
          detail={s ? `${formatCount(s.cache.tokensSaved)} tokens · ${formatMs(s.cache.timeSavedMs)} of model time` : ""}
          loading={loading}
          stale={stale}
        />
        <StatCard
          testId="card-latency"
          tone="slate"
          label="Median latency, cache hit"
          value={s ? <span className="text-emerald-300">{formatMs(s.latency.hit.p50)}</span> : ""}
          detail={
            s
              ? s.latency.hit.p50 === null
                ? s.latency.miss.p50 === null
                  ? "nothing measured yet (this instance)"
                  : `no direct hit yet; a model call takes ${formatMs(s.latency.miss.p50)}`
                : s.latency.miss.p50 === null
                  ? "no model call measured yet (this instance)"
                  : `vs ${formatMs(s.latency.miss.p50)} for a model call (this instance)`
              : ""
          }
          loading={loading}
          stale={stale}
        />
      </div>
      <DoorSplit doors={s?.totals.doors} stale={stale} />
    </div>
  );
}
