"use client";

import { formatCount, formatPercent, ratio } from "@/lib/dashboard/format";
import type { ValkeyViews } from "@/lib/schemas";
import {
  Figures,
  ScrollRegion,
  SubHeading,
  TD_NUM,
  TH,
  TH_NUM,
  TR,
  ViewEmpty,
  ViewPanel,
  ViewStatus,
  formatSeconds,
  type ViewProps,
} from "@/components/valkey-view-parts";

/** The prompts answered from memory most often, and whether Valkey had to drop anything. */
export function CacheView({ views, problem, stale, className }: ViewProps) {
  return (
    <ViewPanel
      testId="vk-cache"
      title="Cache"
      explanation="Which prompts are answered from memory instead of the model, and whether Valkey ever had to throw data away to make room."
      commands={["ZADD XX INCR inside decide.lua (Space-Saving set)", "ZMSCORE", "INFO stats"]}
      stale={stale}
      className={className}
    >
      {!views ? <ViewStatus problem={problem} lines={6} /> : <CacheBody cache={views.cache} policy={views.memory.policy} />}
    </ViewPanel>
  );
}

function CacheBody({ cache, policy }: { cache: ValkeyViews["cache"]; policy: string }) {
  const lookups = cache.keyspaceHits + cache.keyspaceMisses;
  return (
    <>
      <div className="flex min-w-0 flex-col gap-2">
        <SubHeading id="vk-hot-heading">Hot prompts, last few minutes</SubHeading>
        {cache.hotPrompts.length === 0 ? (
          <ViewEmpty
            testId="vk-hot-empty"
            title="No cache hits in the last few minutes"
            hint="Ask the same prompt twice (Try it, or the simulator's cache presets) and it shows up here."
          />
        ) : (
          <ScrollRegion label="Hot prompts" testId="vk-hot-table" className="max-h-72">
            <table className="w-full text-xs" aria-labelledby="vk-hot-heading" aria-describedby="vk-hot-note">
              <thead>
                <tr>
                  <th scope="col" className={TH}>Prompt</th>
                  <th scope="col" className={TH_NUM}>Hits</th>
                  <th scope="col" className={TH_NUM}>Age</th>
                  <th scope="col" className={TH_NUM}>TTL left</th>
                </tr>
              </thead>
              <tbody>
                {cache.hotPrompts.map((p) => (
                  <tr key={p.hash} className={TR} data-testid="vk-hot-row">
                    <th scope="row" className="max-w-[9.5rem] px-2 py-1.5 text-left font-normal sm:max-w-[20rem] sm:px-2.5">
                      <span className="block truncate text-slate-100" title={p.preview ?? undefined}>
                        {p.preview ?? <span className="italic text-slate-400">hidden</span>}
                      </span>
                      <span className="block font-mono text-[11px] text-slate-400">{p.hash}</span>
                    </th>
                    <td className={TD_NUM}>{formatCount(p.hits)}</td>
                    <td className={TD_NUM}>{formatSeconds(p.ageSeconds)}</td>
                    <td className={TD_NUM}>{p.ttlSeconds === null ? <span className="text-slate-400">expired</span> : formatSeconds(p.ttlSeconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        <p id="vk-hot-note" className="text-[11px] text-slate-400">
          Counted in a fixed-size set (Space-Saving): a prompt&apos;s hits may be overcounted by a few, the ranking holds.
          {cache.hotPrompts.some((p) => p.preview === null) ? " “hidden”: this dashboard does not show prompt text to its viewers." : null}
        </p>
      </div>
      <div className="flex min-w-0 flex-col gap-2">
        <SubHeading>Whole server, since it started</SubHeading>
        <Figures
          items={[
            {
              label: "Key lookups found",
              value: formatCount(cache.keyspaceHits),
              testId: "vk-keyspace-hits",
              hint: `${formatPercent(ratio(cache.keyspaceHits, lookups))} of every read, not only the prompt cache`,
            },
            { label: "Lookups missed", value: formatCount(cache.keyspaceMisses), testId: "vk-keyspace-misses" },
            { label: "Expired keys", value: formatCount(cache.expiredKeys), hint: "removed when their TTL ran out" },
            {
              label: "Evicted keys",
              value: formatCount(cache.evictedKeys),
              testId: "vk-evicted",
              tone: cache.evictedKeys > 0 ? "warn" : undefined,
              hint: cache.evictedKeys > 0 ? "dropped early: Valkey hit max memory" : "none dropped for lack of memory",
            },
            { label: "Max memory policy", value: policy },
          ]}
        />
      </div>
    </>
  );
}
