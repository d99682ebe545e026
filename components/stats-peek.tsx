"use client";

import useSWR from "swr";
import type { Stats } from "@/lib/schemas";

const fetchStats = async (url: string): Promise<Stats> => {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return (await res.json()) as Stats;
};

/** A minimal live read of /api/stats until the full dashboard lands. */
export function StatsPeek() {
  const { data, error, isLoading } = useSWR("/api/stats", fetchStats, { refreshInterval: 2000 });
  if (isLoading) return <p data-testid="stats-loading" className="text-slate-400">Reading /api/stats…</p>;
  if (error || !data) return <p data-testid="stats-error" className="text-red-400">Could not reach /api/stats.</p>;
  return (
    <dl data-testid="stats-peek" className="grid grid-cols-2 gap-3 sm:grid-cols-4">
      <div className="rounded-lg bg-slate-900 p-3">
        <dt className="text-xs text-slate-400">Valkey</dt>
        <dd data-testid="connection" className={data.connected ? "text-emerald-400" : "text-red-400"}>
          {data.connected ? "connected" : "down"}
        </dd>
      </div>
      <div className="rounded-lg bg-slate-900 p-3">
        <dt className="text-xs text-slate-400">Requests</dt>
        <dd data-testid="total-requests">{data.totals.requests}</dd>
      </div>
      <div className="rounded-lg bg-slate-900 p-3">
        <dt className="text-xs text-slate-400">Blocked</dt>
        <dd>{data.totals.blocked}</dd>
      </div>
      <div className="rounded-lg bg-slate-900 p-3">
        <dt className="text-xs text-slate-400">Cache hit ratio</dt>
        <dd>{(data.cache.hitRatio * 100).toFixed(1)} %</dd>
      </div>
    </dl>
  );
}
