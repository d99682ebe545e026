"use client";

import { useEffect, useRef, useState } from "react";
import { DOOR_LABELS, newEventIds } from "@/lib/dashboard/chart-data";
import { formatAgo, formatClock, formatIdentity, formatIn, formatMs } from "@/lib/dashboard/format";
import { useStats } from "@/lib/hooks/use-stats";
import type { ActivityEvent, Door } from "@/lib/schemas";
import { Badge, Card, EmptyState, Skeleton, cx } from "@/components/ui";

const TYPE_LOOK = {
  blocked: { tone: "blocked", label: "rate limited" },
  hit: { tone: "hit", label: "cache hit" },
  miss: { tone: "miss", label: "cache miss" },
} as const;

const DOOR_ENDPOINTS: Record<Door, string> = { generate: "POST /api/generate", openai: "POST /v1/chat/completions" };

function Detail({ event, now }: { event: ActivityEvent; now: number }) {
  const rows: [string, string][] = [
    [
      "Decision",
      event.type === "blocked"
        ? `Refused (429) by the ${event.policy} limit`
        : event.type === "hit"
          ? event.coalesced
            ? "Admitted; waited for an identical prompt already being generated, then shared its answer"
            : "Admitted, answered from the cache"
          : "Admitted, answered by the model, then cached",
    ],
    ["Door", `${DOOR_LABELS[event.door]} · ${DOOR_ENDPOINTS[event.door]}`],
    ["Model", event.model || "not recorded"],
    ["Plan", event.tier],
    ["Limit", `${event.policy}: ${event.inWindow} of ${event.limit} used · ${event.remaining} left`],
    ["Frees up", `${formatClock(event.resetAt)} (${formatIn(event.resetAt, now)})`],
    ["Cache key", event.cacheKey ? `fg:cache:{${event.cacheKey}…}` : "—"],
  ];
  if (event.type === "hit") rows.push(["Saved", `${event.tokens} tokens · ${formatMs(event.savedMs)} of model time`]);
  if (event.type === "miss") rows.push(["Generated", `${event.tokens} tokens in ${formatMs(event.latencyMs)}`]);
  rows.push(["Request id", event.requestId]);
  return (
    <dl data-testid="activity-detail" className="grid grid-cols-[6.5rem_1fr] gap-x-3 gap-y-1 rounded-b-lg border-x border-b border-slate-800 bg-slate-950/60 px-3 py-2 text-xs">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-400">{k}</dt>
          <dd className="break-all font-mono text-slate-200">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The stream's tail: newest first; new arrivals flash; a click shows the whole decision. */
export function ActivityFeed({ className }: { className?: string }) {
  const { stats, stale } = useStats();
  const [open, setOpen] = useState<string | null>(null);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const seen = useRef<Set<string> | null>(null);
  const [now, setNow] = useState(0);
  const events = stats?.activity ?? [];

  useEffect(() => {
    if (!stats) return;
    setNow(Date.now());
    if (seen.current === null) {
      // First paint: nothing is "new".
      seen.current = new Set(stats.activity.map((e) => e.id));
      return;
    }
    const ids = newEventIds(stats.activity, seen.current);
    for (const id of ids) seen.current.add(id);
    if (ids.length > 0) setFresh(new Set(ids));
  }, [stats]);

  return (
    <Card
      testId="activity-feed"
      title="Live activity"
      subtitle="The last 20 decisions from the Valkey stream. Click one to see why."
      stale={stale}
      className={className}
    >
      {!stats ? (
        <div className="space-y-2">
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} className="h-9 w-full" />
          ))}
        </div>
      ) : events.length === 0 ? (
        <EmptyState testId="activity-empty" title="No decisions yet" hint="Fire the load simulator: every request lands here." />
      ) : (
        // Beside Try it (lg) the list fills the card's height, at least 26rem, instead of leaving a gap under it.
        <ul className="max-h-[26rem] space-y-1.5 overflow-y-auto pr-1 lg:h-0 lg:max-h-none lg:min-h-[26rem] lg:flex-1" aria-live="polite">
          {events.map((event) => {
            const look = TYPE_LOOK[event.type];
            const expanded = open === event.id;
            return (
              <li key={event.id} data-testid="activity-item" data-type={event.type} data-door={event.door}>
                <button
                  type="button"
                  aria-expanded={expanded}
                  onClick={() => setOpen(expanded ? null : event.id)}
                  className={cx(
                    "flex w-full items-center gap-2 rounded-lg border border-slate-800 bg-slate-900 px-3 py-2 text-left text-xs transition-colors hover:border-slate-600 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500",
                    expanded && "rounded-b-none border-slate-600",
                    fresh.has(event.id) && "animate-[arrive_1.2s_ease-out]",
                  )}
                >
                  <span className="w-14 shrink-0 font-mono tabular-nums text-slate-400" title={formatClock(event.timestamp)}>
                    {now ? formatAgo(event.timestamp, now).replace(" ago", "") : formatClock(event.timestamp)}
                  </span>
                  <span className="min-w-0 flex-1 truncate font-mono text-slate-200">{formatIdentity(event.identity)}</span>
                  <span className="hidden text-slate-400 sm:inline">{event.tier}</span>
                  {event.model ? (
                    <span data-testid="activity-model" className="hidden max-w-[10rem] truncate font-mono text-slate-400 md:inline">
                      {event.model}
                    </span>
                  ) : null}
                  <span className="hidden w-16 text-right font-mono tabular-nums text-slate-400 md:inline">
                    {event.type === "miss" ? formatMs(event.latencyMs) : event.type === "hit" ? `−${event.tokens} tok` : `${event.inWindow}/${event.limit}`}
                  </span>
                  {/* Outlined, so the door reads as a label beside the filled outcome badge. Phones get it in the detail. */}
                  <span
                    data-testid="activity-door"
                    className="hidden whitespace-nowrap rounded-md px-1.5 py-0.5 text-[11px] font-medium text-slate-300 ring-1 ring-inset ring-slate-600 sm:inline-flex"
                  >
                    {DOOR_LABELS[event.door]}
                  </span>
                  <Badge tone={look.tone}>{look.label}</Badge>
                </button>
                {expanded ? <Detail event={event} now={now || Date.now()} /> : null}
              </li>
            );
          })}
        </ul>
      )}
    </Card>
  );
}
