"use client";

import { formatClock, formatCount } from "@/lib/dashboard/format";
import type { ValkeyViews } from "@/lib/schemas";
import { cx } from "@/components/ui";
import {
  ScrollRegion,
  SubHeading,
  TD,
  TD_NUM,
  TH,
  TH_NUM,
  TR,
  UsecSparkline,
  ViewEmpty,
  ViewPanel,
  ViewStatus,
  formatCommand,
  formatRate,
  formatSeconds,
  formatUsec,
  type ViewProps,
} from "@/components/valkey-view-parts";

/** What a decision costs Valkey, command by command, and anything that was slow. */
export function LatencyView({ views, problem, stale, className }: ViewProps) {
  return (
    <ViewPanel
      testId="vk-latency"
      title="Command latency"
      explanation="How long Valkey itself spends on each request's work: its CPU time, without the network trip."
      commands={["INFO commandstats", "INFO latencystats", "SLOWLOG GET"]}
      stale={stale}
      className={className}
    >
      {!views ? <ViewStatus problem={problem} lines={7} /> : <LatencyBody commands={views.commands} series={views.memory.series} />}
    </ViewPanel>
  );
}

function LatencyBody({ commands, series }: { commands: ValkeyViews["commands"]; series: ValkeyViews["memory"]["series"] }) {
  const interval = commands.intervalSeconds;
  // Busiest first: the scripts that make the decisions lead, INFO and friends follow.
  const rows = [...commands.rows].sort((a, b) => (b.callsPerSec ?? -1) - (a.callsPerSec ?? -1) || b.calls - a.calls);
  return (
    <>
      <Headline
        usec={commands.usecPerDecision}
        perScriptCall={commands.usecPerScriptCall}
        decisionsPerSec={commands.decisionsPerSec}
        slowExcluded={commands.slowCallsExcluded}
        interval={interval}
        series={series}
        typical={commands.rows.find((r) => r.command === "evalsha")?.p50 ?? null}
      />
      <div className="flex min-w-0 flex-col gap-2">
        <SubHeading id="vk-cmd-heading">Per command</SubHeading>
        {rows.length === 0 ? (
          <ViewEmpty title="No commands counted yet" hint="INFO commandstats fills as soon as the gateway takes a request." />
        ) : (
          <ScrollRegion label="Per-command latency" testId="vk-cmd-table" className="max-h-72">
            <table className="w-full text-xs" aria-labelledby="vk-cmd-heading" aria-describedby="vk-cmd-note">
              <thead>
                <tr>
                  <th scope="col" className={TH}>Command</th>
                  <th scope="col" className={TH_NUM}>Calls / s</th>
                  <th scope="col" className={TH_NUM}>Mean</th>
                  <th scope="col" className={TH_NUM}>p50*</th>
                  <th scope="col" className={TH_NUM}>p99*</th>
                  <th scope="col" className={TH_NUM}>p99.9*</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.command} className={TR} data-testid="vk-cmd-row">
                    <th scope="row" className={`${TD} text-left font-mono font-normal text-slate-100`}>
                      {formatCommand(r.command)}
                      {r.command === "evalsha" ? <span className="font-sans text-slate-400"> (scripts)</span> : null}
                    </th>
                    <td className={TD_NUM}>{formatRate(r.callsPerSec)}</td>
                    {r.usecPerCall === null ? (
                      <td className={`${TD_NUM} text-slate-400`} title="since the server started: no interval yet">
                        {formatUsec(r.usecPerCallAllTime)}*
                      </td>
                    ) : (
                      <td className={TD_NUM} title={`${formatUsec(r.usecPerCallAllTime)} since the server started`}>
                        {formatUsec(r.usecPerCall)}
                      </td>
                    )}
                    <td className={TD_NUM}>{formatUsec(r.p50)}</td>
                    <td className={TD_NUM}>{formatUsec(r.p99)}</td>
                    <td className={TD_NUM}>{formatUsec(r.p999)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        <p id="vk-cmd-note" className="text-[11px] text-slate-400">
          {interval === null
            ? "Calls/s and the mean over the last interval come with the next reading; until then the mean is since the server started (*). "
            : `Calls/s and mean over the last ${formatSeconds(interval)}. `}
          *Since the server started: INFO latencystats is cumulative. Commands a script runs are counted under their own names too.
        </p>
      </div>
      <Slowlog entries={commands.slowlog} />
    </>
  );
}

function Headline({
  usec,
  perScriptCall,
  decisionsPerSec,
  slowExcluded,
  interval,
  series,
  typical,
}: {
  /** Script calls in the slow log, left out of the mean. */
  slowExcluded: number;
  /** All script µs ÷ decisions over the interval (a miss's store included). */
  usec: number | null;
  perScriptCall: number | null;
  decisionsPerSec: number | null;
  interval: number | null;
  series: ValkeyViews["memory"]["series"];
  /** EVALSHA's median since the server started, µs: a mean over a few calls can be pulled up by one slow miss. */
  typical: number | null;
}) {
  const known = series.filter((s) => s.scriptUsecPerCall !== null) as { t: number; scriptUsecPerCall: number }[];
  const values = known.map((s) => s.scriptUsecPerCall);
  const summary =
    values.length > 0
      ? `Over the last hour, ${values.length} intervals with script calls: between ${formatUsec(Math.min(...values))} and ${formatUsec(Math.max(...values))} per call, latest ${formatUsec(values[values.length - 1]!)}.`
      : "";
  return (
    <div
      className={cx(
        "grid min-w-0 items-center gap-3 rounded-lg border border-amber-900/50 bg-gradient-to-b from-amber-500/10 to-transparent p-3",
        known.length > 1 && "sm:grid-cols-[minmax(0,1fr)_minmax(0,12rem)]",
      )}
    >
      <div className="min-w-0">
        {interval === null ? (
          <p data-testid="vk-decision-cost" data-usec="" className="text-base font-semibold text-slate-100">
            Measuring: the cost of a decision comes with the next reading
          </p>
        ) : usec === null ? (
          <p data-testid="vk-decision-cost" data-usec="" className="text-base font-semibold text-slate-100">
            No decisions in the last interval
          </p>
        ) : (
          <p data-testid="vk-decision-cost" data-usec={usec} className="text-base font-semibold text-slate-100">
            One decision costs Valkey <span className="whitespace-nowrap font-mono text-2xl tabular-nums text-amber-300">{formatUsec(usec)}</span>
          </p>
        )}
        <p className="mt-0.5 text-[11px] text-slate-400">
          Valkey time of the scripts behind one request (decide, and store after a miss){interval === null ? "" : `, mean over the last ${formatSeconds(interval)}`}
          {decisionsPerSec ? ` at ${formatRate(decisionsPerSec)} decisions/s` : ""}
          {slowExcluded > 0 ? `, leaving out ${slowExcluded} call${slowExcluded === 1 ? "" : "s"} in the slow log below` : ""}. One millisecond is 1,000 µs.
          {perScriptCall !== null ? ` Per script call (EVALSHA): ${formatUsec(perScriptCall)}` : ""}
          {typical !== null && typical >= 1 ? `${perScriptCall !== null ? "; " : " Per script call, "}median since start: ${formatUsec(typical)}.` : perScriptCall !== null ? "." : ""}
        </p>
      </div>
      {known.length > 1 ? (
        <div className="min-w-0">
          <p className="text-[11px] text-slate-400">µs per script call, last hour</p>
          <div data-testid="vk-usec-sparkline" className="h-12 w-full">
            <UsecSparkline series={series} />
          </div>
          <p className="sr-only">{summary}</p>
        </div>
      ) : null}
    </div>
  );
}

function Slowlog({ entries }: { entries: ValkeyViews["commands"]["slowlog"] }) {
  return (
    <div className="flex min-w-0 flex-col gap-2">
      <SubHeading id="vk-slowlog-heading">Slow log</SubHeading>
      {entries.length === 0 ? (
        <ViewEmpty testId="vk-slowlog-empty" title="Nothing slower than the server's slowlog threshold" hint="SLOWLOG keeps commands that ran longer than slowlog-log-slower-than." />
      ) : (
        <ScrollRegion label="Slow log entries" testId="vk-slowlog" className="max-h-48">
          <table className="w-full text-xs" aria-labelledby="vk-slowlog-heading">
            <thead>
              <tr>
                <th scope="col" className={TH}>When</th>
                <th scope="col" className={TH}>Command</th>
                <th scope="col" className={TH_NUM}>Took</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} className={TR}>
                  <th scope="row" className={`${TD} text-left font-mono font-normal tabular-nums`}>{formatClock(e.at)}</th>
                  <td className={`${TD} font-mono`}>
                    {formatCommand(e.command)}
                    {e.script ? <span className="font-sans text-slate-400"> ({e.script})</span> : null}
                  </td>
                  <td className={TD_NUM}>{formatUsec(e.durationUs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="sr-only">{formatCount(entries.length)} entries.</p>
        </ScrollRegion>
      )}
    </div>
  );
}
