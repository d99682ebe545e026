"use client";

import { formatBytes, formatClock, formatCount, formatPercent } from "@/lib/dashboard/format";
import type { TtlHistogram, ValkeyViews } from "@/lib/schemas";
import { LegendDot } from "@/components/ui";
import {
  Figures,
  KIND_LABELS,
  MEMORY_COLORS,
  MemoryChart,
  ScrollRegion,
  SubHeading,
  TD_NUM,
  TH,
  TH_NUM,
  TR,
  TtlChart,
  ViewEmpty,
  ViewPanel,
  ViewStatus,
  formatSeconds,
  type ViewProps,
} from "@/components/valkey-view-parts";

/** RAM now and over the hour, where it goes, and how long the keys have left to live. */
export function MemoryView({ views, problem, stale, className }: ViewProps) {
  return (
    <ViewPanel
      testId="vk-memory"
      title="Memory"
      explanation="How much RAM Flowgate's data takes inside Valkey, what it is spent on, and when it frees itself (every key expires)."
      commands={["INFO memory", "MEMORY USAGE", "ZCOUNT on the expiry index sets", "XADD / XRANGE of the sample stream"]}
      stale={stale}
      className={className}
    >
      {!views ? <ViewStatus problem={problem} lines={8} /> : <MemoryBody memory={views.memory} ttl={views.ttl} />}
    </ViewPanel>
  );
}

function MemoryBody({ memory, ttl }: { memory: ValkeyViews["memory"]; ttl: ValkeyViews["ttl"] }) {
  const limited = memory.maxmemoryBytes > 0;
  const frag = memory.fragmentationRatio;
  // RSS carries the server's own few MB whatever the data: with little data the ratio is high and means nothing.
  const smallData = memory.usedBytes < 64 * 1024 * 1024;
  return (
    <div className="grid min-w-0 gap-x-6 gap-y-5 sm:grid-cols-2 lg:grid-cols-3">
      <div className="flex min-w-0 flex-col gap-4 sm:col-span-2 lg:col-span-1">
        <Figures
          className="sm:grid-cols-3 lg:grid-cols-2"
          items={[
            { label: "Used by data", value: formatBytes(memory.usedBytes), testId: "vk-mem-used" },
            { label: "RSS (from the OS)", value: formatBytes(memory.rssBytes), testId: "vk-mem-rss" },
            {
              label: "Fragmentation",
              value: frag.toFixed(2),
              testId: "vk-mem-frag",
              tone: frag > 1.5 && !smallData ? "warn" : undefined,
              hint: fragmentationHint(frag, smallData),
            },
            { label: "Peak used", value: formatBytes(memory.peakBytes) },
            {
              label: "Max memory",
              value: limited ? formatBytes(memory.maxmemoryBytes) : "no limit",
              testId: "vk-mem-max",
              hint: limited ? `${formatPercent(memory.usedBytes / memory.maxmemoryBytes)} used` : "grows until the machine runs out",
            },
            { label: "When full (policy)", value: memory.policy, testId: "vk-mem-policy", hint: policyHint(memory.policy) },
          ]}
        />
      </div>
      <MemoryHistory memory={memory} />
      <ByKind byKind={memory.byKind} />
      <TtlView
          testId="vk-ttl-cache"
          title="Cached answers: time left before they expire"
          histogram={ttl.cache}
          color="var(--chart-cache)"
          unit="cached answers"
          empty="No cached answers right now"
          hint="A miss stores its answer for the cache TTL; run the simulator to fill it."
        />
        <TtlView
          testId="vk-ttl-limits"
          title="Rate-limit state: time left before it expires"
          histogram={ttl.limits}
          color="var(--chart-violet)"
          unit="rate-limit windows"
          empty="No live rate-limit state"
          hint="Each caller's window expires a little after its last request."
        />
    </div>
  );
}

function fragmentationHint(frag: number, smallData: boolean): string {
  if (frag > 1.5 && smallData) return "RSS ÷ used; high is normal while the data is this small";
  if (frag > 1.5) return "RSS well above the data: the allocator holds freed pages";
  if (frag > 0 && frag < 1) return "below 1: part of Valkey may be swapped out";
  return "RSS ÷ used; near 1 is healthy";
}

function policyHint(policy: string): string {
  if (policy === "noeviction") return "writes fail when full; nothing is evicted";
  if (policy.startsWith("allkeys")) return "any key may be evicted when full";
  if (policy.startsWith("volatile")) return "only keys with a TTL may be evicted";
  return "what Valkey does at max memory";
}

function MemoryHistory({ memory }: { memory: ValkeyViews["memory"] }) {
  const series = memory.series;
  const first = series[0];
  const last = series[series.length - 1];
  const peak = series.reduce((max, s) => Math.max(max, s.usedBytes), 0);
  const summary =
    first && last
      ? `${series.length} samples, one every ${Math.round(memory.sampleIntervalMs / 1000)} s, from ${formatClock(first.t)} to ${formatClock(last.t)}: used memory went from ${formatBytes(first.usedBytes)} to ${formatBytes(last.usedBytes)}, peaking at ${formatBytes(peak)}; RSS is now ${formatBytes(last.rssBytes)}.`
      : "";
  return (
    <div className="flex min-w-0 flex-col gap-2 sm:col-span-2">
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
        <SubHeading>Memory, last hour</SubHeading>
        <div className="flex gap-3">
          <LegendDot color={MEMORY_COLORS.used} label="used by data" />
          <LegendDot color={MEMORY_COLORS.rss} label="RSS (dashed)" />
        </div>
      </div>
      <div data-testid="vk-memory-chart" data-points={series.length} className="h-44 w-full">
        {series.length === 0 ? (
          <ViewEmpty className="h-full" title="No samples yet" hint={`The first lands within ${Math.round(memory.sampleIntervalMs / 1000)} s.`} />
        ) : (
          <MemoryChart series={series} />
        )}
      </div>
      {summary ? <p className="sr-only">{summary}</p> : null}
    </div>
  );
}

function ByKind({ byKind }: { byKind: ValkeyViews["memory"]["byKind"] }) {
  const sampled = byKind.reduce((sum, k) => sum + k.sampled, 0);
  const largest = byKind.reduce((max, k) => Math.max(max, k.estimatedBytes ?? 0), 0);
  return (
    <div className="flex min-w-0 flex-col gap-2 sm:col-span-2 lg:col-span-1">
      <SubHeading id="vk-bykind-heading">Memory by kind of key</SubHeading>
      <ScrollRegion label="Memory by kind of key" testId="vk-bykind">
        <table className="w-full text-xs" aria-labelledby="vk-bykind-heading" aria-describedby="vk-bykind-note">
          <thead>
            <tr>
              <th scope="col" className={TH}>Kind</th>
              <th scope="col" className={TH_NUM}>Keys</th>
              <th scope="col" className={TH_NUM}>≈ / key</th>
              <th scope="col" className={TH_NUM}>≈ total</th>
            </tr>
          </thead>
          <tbody>
            {byKind.map((k) => (
              <tr key={k.kind} className={TR}>
                <th scope="row" className="px-2 py-1.5 text-left font-normal sm:px-2.5">
                  <span className="block text-slate-100">{KIND_LABELS[k.kind].label}</span>
                  <span className="hidden text-[11px] text-slate-400 sm:block">{KIND_LABELS[k.kind].hint}</span>
                  <span aria-hidden className="mt-1 block h-1.5 rounded-full bg-slate-800">
                    <span
                      className="block h-1.5 rounded-full bg-sky-400/80"
                      style={{ width: `${largest > 0 && k.estimatedBytes ? Math.max(2, (k.estimatedBytes / largest) * 100) : 0}%` }}
                    />
                  </span>
                </th>
                <td className={TD_NUM}>{formatCount(k.keys)}</td>
                <td className={TD_NUM}>{k.bytesPerKey === null ? "—" : formatBytes(Math.round(k.bytesPerKey))}</td>
                <td className={TD_NUM}>{k.estimatedBytes === null ? "—" : formatBytes(Math.round(k.estimatedBytes))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      <p id="vk-bykind-note" className="text-[11px] text-slate-400">
        An estimate: MEMORY USAGE of {formatCount(sampled)} sampled key{sampled === 1 ? "" : "s"}, times the number of keys of each kind. Valkey&apos;s own
        overhead is not in it, so the total is less than “used by data”.
      </p>
    </div>
  );
}

function TtlView({
  testId,
  title,
  histogram,
  color,
  unit,
  empty,
  hint,
}: {
  testId: string;
  title: string;
  histogram: TtlHistogram;
  color: string;
  unit: string;
  empty: string;
  hint: string;
}) {
  const headingId = `${testId}-heading`;
  return (
    <div data-testid={testId} className="flex min-w-0 flex-col gap-2">
      <div className="flex items-baseline justify-between gap-3">
        <SubHeading id={headingId}>{title}</SubHeading>
        <span className="shrink-0 font-mono text-xs tabular-nums text-slate-300">{formatCount(histogram.total)} live</span>
      </div>
      {histogram.total === 0 ? (
        <ViewEmpty className="h-40" title={empty} hint={hint} />
      ) : (
        <>
          <div className="h-40 w-full">
            <TtlChart buckets={histogram.buckets} color={color} name={unit} />
          </div>
          {/* A table ignores sr-only's 1px width; the wrapper clips it. */}
          <div className="sr-only">
            <table aria-labelledby={headingId}>
              <thead>
                <tr>
                  <th scope="col">Expires in</th>
                  <th scope="col">{unit}</th>
                </tr>
              </thead>
              <tbody>
                {histogram.buckets.map((b) => (
                  <tr key={b.label}>
                    <th scope="row">{b.toSeconds === null ? `${formatSeconds(b.fromSeconds)} or more` : `${formatSeconds(b.fromSeconds)} to ${formatSeconds(b.toSeconds)}`}</th>
                    <td>{b.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
