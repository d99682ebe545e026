"use client";

import { useEffect, useState } from "react";
import { formatAgo } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { cx } from "@/components/ui";

const LOOK = {
  loading: { label: "Connecting…", dot: "bg-slate-400", ring: "border-slate-700 text-slate-300" },
  connected: { label: "Valkey connected", dot: "bg-emerald-400", ring: "border-emerald-800/70 text-emerald-300" },
  reconnecting: { label: "Reconnecting…", dot: "bg-amber-400 animate-pulse", ring: "border-amber-800/70 text-amber-300" },
  down: { label: "Valkey down", dot: "bg-rose-500 animate-pulse", ring: "border-rose-800/70 text-rose-300" },
} as const;

/** Connected / reconnecting / Valkey down, with the time of the last good update. */
export function ConnectionBadge() {
  const { state, lastUpdated, stats } = useStats();
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const look = LOOK[state];
  const server = stats?.valkey ? `${stats.valkey.server} ${stats.valkey.version}` : null;
  return (
    // A row of its own on a phone: the text grows once the first stats arrive, and would otherwise
    // push the buttons beside it onto a new line, shifting the whole page down (layout shift).
    <div className="flex basis-full flex-wrap items-center justify-end gap-x-3 gap-y-1 text-xs sm:basis-auto">
      <span
        data-testid="connection-badge"
        data-state={state}
        role="status"
        aria-live="polite"
        className={cx("inline-flex items-center gap-2 rounded-full border bg-slate-900 px-3 py-1 font-medium", look.ring)}
      >
        <span aria-hidden className={cx("h-2 w-2 rounded-full", look.dot)} />
        {look.label}
      </span>
      <span className="text-slate-400" data-testid="last-updated">
        {server ? `${server} · ` : ""}
        {lastUpdated && now ? `updated ${formatAgo(lastUpdated, now)}` : "waiting for first update"}
      </span>
    </div>
  );
}

/** A banner under the header while the numbers are not live. */
export function OutageBanner() {
  const { state, stats } = useStats();
  if (state !== "down" && state !== "reconnecting") return null;
  return (
    <div role="alert" data-testid="outage-banner" className="rounded-lg border border-rose-900/70 bg-rose-950/40 px-4 py-3 text-sm text-rose-200">
      {state === "down" ? (
        <>
          <strong className="font-semibold">Valkey is unreachable.</strong> The gateway is following its FAIL_MODE; the numbers below are the
          last ones read and will update by themselves when Valkey returns.{stats?.error ? <span className="text-rose-300/70"> ({stats.error})</span> : null}
        </>
      ) : (
        <>
          <strong className="font-semibold">The dashboard cannot reach the app.</strong> Retrying every few seconds; the numbers below are the last ones read.
        </>
      )}
    </div>
  );
}
