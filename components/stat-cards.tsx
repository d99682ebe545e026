"use client";

import type { ReactNode } from "react";
import { formatCost, formatCount, formatMs, formatPercent, ratio } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
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

/** The six headline numbers: traffic, refusals, cache effect, savings, latency. */
export function StatCards() {
  const { stats, state, stale } = useStats();
  const loading = !stats;
  const s = stats;
  const blockedShare = s ? ratio(s.totals.blocked, s.totals.requests) : null;
  return (
    <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6" aria-busy={state === "loading"}>
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
  );
}
