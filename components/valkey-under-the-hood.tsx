"use client";

import { useEffect, useRef, useState, type RefObject } from "react";
import { formatAgo } from "@/lib/dashboard/format";
import { useValkeyViews, VALKEY_VIEWS_INTERVAL_MS } from "@/lib/hooks/use-valkey-views";
import { CacheView } from "@/components/valkey-cache-view";
import { LatencyView } from "@/components/valkey-latency-view";
import { MemoryView } from "@/components/valkey-memory-view";
import { StreamView } from "@/components/valkey-stream-view";
import type { ViewProps } from "@/components/valkey-view-parts";

/**
 * What Valkey does for the gateway, as a Valkey engineer would look at it:
 * memory, command latency, the cache and the decision stream. It polls
 * /api/valkey only once it has come near the viewport, so a phone that never
 * scrolls this far neither reads the views nor loads the chart code.
 */
export function ValkeyUnderTheHood() {
  const ref = useRef<HTMLElement>(null);
  const near = useSeenOnce(ref, "600px 0px");
  const { views, state, stale, error, lastUpdated } = useValkeyViews({ enabled: near });
  const now = useNow(near);

  // Valkey down before any good reading: zeros are not worth drawing.
  const neverGood = views !== undefined && !views.connected && lastUpdated === null;
  const problem = neverGood
    ? `Valkey is unreachable${views.error ? ` (${views.error})` : ""}. These views fill in by themselves when it returns.`
    : !views && error
      ? `Could not read /api/valkey: ${error.message}. Retrying every ${VALKEY_VIEWS_INTERVAL_MS / 1000} s.`
      : null;
  const props: ViewProps = { views: neverGood ? undefined : views, problem, stale };

  return (
    <section ref={ref} id="valkey-under-the-hood" data-testid="valkey-under-the-hood" data-state={state} aria-labelledby="vk-heading" className="flex min-w-0 flex-col gap-4">
      <header className="flex flex-col gap-1 sm:flex-row sm:items-end sm:justify-between sm:gap-4">
        <div className="min-w-0">
          <h2 id="vk-heading" className="text-lg font-semibold tracking-tight text-slate-100">
            Valkey under the hood
          </h2>
          <p className="mt-0.5 text-sm text-slate-400">
            What the gateway costs Valkey: memory, time per command, what the cache holds, and the decision log. Read from the server itself every{" "}
            {VALKEY_VIEWS_INTERVAL_MS / 1000} s.
          </p>
        </div>
        <p data-testid="vk-updated" className="shrink-0 text-xs text-slate-400">
          {views && !neverGood ? (
            <>
              {stale ? <span className="text-amber-300">not live · </span> : null}
              {`${views.cost.commands} commands in ${views.cost.roundTrips} round trip${views.cost.roundTrips === 1 ? "" : "s"}`}
              {lastUpdated && now ? ` · updated ${formatAgo(lastUpdated, now)}` : ""}
            </>
          ) : null}
        </p>
      </header>
      <div className="grid min-w-0 gap-4 lg:grid-cols-2">
        <MemoryView {...props} className="lg:col-span-2" />
        <LatencyView {...props} />
        <CacheView {...props} />
        <StreamView {...props} className="lg:col-span-2" />
      </div>
    </section>
  );
}

/** True from the first time the element comes within `rootMargin` of the viewport, and from then on. */
function useSeenOnce(ref: RefObject<Element | null>, rootMargin: string): boolean {
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || seen) return;
    if (typeof IntersectionObserver === "undefined") {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          setSeen(true);
          observer.disconnect();
        }
      },
      { rootMargin },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref, rootMargin, seen]);
  return seen;
}

/** The clock for "updated 3 s ago", ticking once a second while the section is live. */
function useNow(active: boolean): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}
