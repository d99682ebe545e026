"use client";

import { formatCount, formatPercent } from "@/lib/dashboard/format";
import type { ValkeyViews } from "@/lib/schemas";
import {
  Figures,
  ScrollRegion,
  SubHeading,
  TD,
  TD_NUM,
  TH,
  TH_NUM,
  TR,
  ViewEmpty,
  ViewPanel,
  ViewStatus,
  formatRate,
  formatSeconds,
  type ViewProps,
} from "@/components/valkey-view-parts";

/** The decision log: how full, how fast, how far back, and who reads it. */
export function StreamView({ views, problem, stale, className }: ViewProps) {
  return (
    <ViewPanel
      testId="vk-stream"
      title="Stream health"
      explanation="Every decision is appended to a capped log that tools can follow live or export; this is how full it is and whether its readers keep up."
      commands={["XINFO STREAM", "XINFO GROUPS"]}
      stale={stale}
      className={className}
    >
      {!views ? <ViewStatus problem={problem} lines={5} /> : <StreamBody stream={views.stream} now={Date.parse(views.timestamp)} />}
    </ViewPanel>
  );
}

function StreamBody({ stream, now }: { stream: ValkeyViews["stream"]; now: number }) {
  const fill = stream.cap > 0 ? Math.min(1, stream.length / stream.cap) : 0;
  const covers = stream.oldestAt === null ? null : (now - stream.oldestAt) / 1000;
  return (
    <div className="grid min-w-0 gap-x-6 gap-y-5 lg:grid-cols-2">
      <div className="flex min-w-0 flex-col gap-4">
        <div>
          <div className="flex items-baseline justify-between gap-3 text-xs">
            <span id="vk-stream-meter-label" className="font-semibold text-slate-200">
              Length against the cap
            </span>
            <span data-testid="vk-stream-length" data-length={stream.length} className="font-mono tabular-nums text-slate-100">
              {formatCount(stream.length)} <span className="text-slate-400">of {formatCount(stream.cap)}</span>
            </span>
          </div>
          <div
            role="meter"
            aria-labelledby="vk-stream-meter-label"
            aria-valuemin={0}
            aria-valuemax={stream.cap}
            aria-valuenow={Math.min(stream.length, stream.cap)}
            aria-valuetext={`${formatCount(stream.length)} of ${formatCount(stream.cap)} entries (${formatPercent(fill, 0)})`}
            className="mt-1.5 h-2.5 overflow-hidden rounded-full bg-slate-800"
          >
            <div className="h-full rounded-full bg-sky-400" style={{ width: `${fill * 100}%` }} />
          </div>
          <p className="mt-1 text-[11px] text-slate-400">
            {fill >= 0.98
              ? "At the cap: each new decision trims the oldest (XADD MAXLEN ~), so memory stays flat."
              : "The same XADD that writes a decision trims the oldest past the cap, so the log never grows beyond it."}
          </p>
        </div>
        <Figures
          items={[
            { label: "Entries ever added", value: formatCount(stream.entriesAdded), testId: "vk-stream-added" },
            { label: "Events / s", value: formatRate(stream.eventsPerSec), testId: "vk-stream-rate", hint: stream.eventsPerSec === null ? "from the next reading" : "over the last interval" },
            {
              label: "Oldest entry",
              value: covers === null ? "—" : `${formatSeconds(covers)} ago`,
              hint: covers === null ? "the stream is empty" : "how far back the log reaches",
            },
          ]}
        />
      </div>
      <div className="flex min-w-0 flex-col gap-2">
        <SubHeading id="vk-groups-heading">Consumer groups</SubHeading>
        {stream.groups.length === 0 ? (
          <ViewEmpty
            testId="vk-groups-empty"
            title="No consumer group yet"
            hint={
              <>
                Run <code className="text-sky-300">npm run export -- --out decisions.ndjson</code> to export every decision exactly once through a group, or{" "}
                <code className="text-sky-300">npm run tail</code> to follow the stream live.
              </>
            }
          />
        ) : (
          <ScrollRegion label="Consumer groups" testId="vk-groups-table">
            <table className="w-full text-xs" aria-labelledby="vk-groups-heading" aria-describedby="vk-groups-note">
              <thead>
                <tr>
                  <th scope="col" className={TH}>Group</th>
                  <th scope="col" className={TH_NUM}>Consumers</th>
                  <th scope="col" className={TH_NUM}>Pending</th>
                  <th scope="col" className={TH_NUM}>Lag</th>
                </tr>
              </thead>
              <tbody>
                {stream.groups.map((g) => (
                  <tr key={g.name} className={TR}>
                    <th scope="row" className={`${TD} text-left font-mono font-normal text-slate-100`}>
                      {g.name}
                      <span className="block font-mono text-[11px] text-slate-400">at {g.lastDeliveredId}</span>
                    </th>
                    <td className={TD_NUM}>{formatCount(g.consumers)}</td>
                    <td className={TD_NUM}>{formatCount(g.pending)}</td>
                    <td className={TD_NUM}>{g.lag === null ? <span className="text-slate-400">unknown</span> : formatCount(g.lag)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        {stream.groups.length > 0 ? (
          <p id="vk-groups-note" className="text-[11px] text-slate-400">
            Pending: delivered, not yet acknowledged. Lag: entries not yet delivered to the group (“unknown” once the cap trimmed past its position).
          </p>
        ) : null}
      </div>
    </div>
  );
}
