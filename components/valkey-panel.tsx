"use client";

import { formatBytes, formatCount, formatMs } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import { Card, Skeleton } from "@/components/ui";

/** The server behind the demo: what it is and how hard it is working. */
export function ValkeyFacts() {
  const { stats, stale } = useStats();
  const v = stats?.valkey;
  const rows: [string, string, string][] = stats
    ? [
        ["Server", v ? `${v.server} ${v.version}` : "unreachable", "valkey-server"],
        ["Memory used", v ? formatBytes(v.usedMemoryBytes) : "—", "valkey-memory"],
        ["Ops / second", v ? formatCount(v.opsPerSec) : "—", "valkey-ops"],
        ["Clients", v ? formatCount(v.connectedClients) : "—", "valkey-clients"],
        ["Keys (DBSIZE)", formatCount(stats.totalKeys), "valkey-keys"],
        ["Stats round trip", v ? formatMs(v.roundTripMs) : "—", "valkey-rtt"],
        ["Stats cost", `${stats.cost.commands} commands, ${stats.cost.roundTrips} round trip${stats.cost.roundTrips === 1 ? "" : "s"}`, "valkey-cost"],
        ["Stream", `${formatCount(stats.stream.length)} of ${formatCount(stats.stream.cap)} events`, "valkey-stream"],
      ]
    : [];
  return (
    <Card testId="valkey-facts" title="Valkey" subtitle="Read from INFO and DBSIZE on every poll." stale={stale}>
      {!stats ? (
        <div className="space-y-2">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} className="h-5 w-full" />
          ))}
        </div>
      ) : (
        <dl className="grid grid-cols-2 gap-x-4 gap-y-2 text-xs sm:grid-cols-4 lg:grid-cols-2">
          {rows.map(([label, value, testId]) => (
            <div key={label} className="min-w-0">
              <dt className="text-slate-400">{label}</dt>
              <dd data-testid={testId} className="break-words font-mono text-sm text-slate-100">
                {value}
              </dd>
            </div>
          ))}
        </dl>
      )}
    </Card>
  );
}
