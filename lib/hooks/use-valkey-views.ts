"use client";

import useSWR from "swr";
import { fetchJson, type ConnectionState } from "@/lib/hooks/use-stats";
import { valkeyViewsSchema, type ValkeyViews } from "@/lib/schemas";

export const VALKEY_VIEWS_URL = "/api/valkey";
/** Poll period, ms: the server samples memory every 10 s whoever polls, so faster would only repeat itself. */
export const VALKEY_VIEWS_INTERVAL_MS = 5000;

/**
 * While Valkey is down /api/valkey answers `connected: false` with zeros. As
 * with /api/stats, the section keeps the last good views (greyed) instead.
 */
let lastGood: ValkeyViews | null = null;

export async function fetchValkeyViews(url: string): Promise<ValkeyViews> {
  const views = await fetchJson(url, (v) => valkeyViewsSchema.parse(v));
  if (views.connected) {
    lastGood = views;
    return views;
  }
  return lastGood ? { ...lastGood, connected: false, error: views.error, timestamp: views.timestamp } : views;
}

export interface ValkeyViewsState {
  views: ValkeyViews | undefined;
  state: ConnectionState;
  /** True when the views shown are not current (Valkey down or the app unreachable). */
  stale: boolean;
  /** Unix ms of the last views read while connected; null when none was yet. */
  lastUpdated: number | null;
  error: Error | undefined;
}

/**
 * The "Valkey under the hood" poller. `enabled: false` (the section not yet
 * scrolled near) sends nothing: the views cost a dozen commands a read, and a
 * phone that never scrolls down should not pay for them.
 */
export function useValkeyViews({ enabled = true }: { enabled?: boolean } = {}): ValkeyViewsState {
  const { data, error, isLoading } = useSWR<ValkeyViews, Error>(enabled ? VALKEY_VIEWS_URL : null, fetchValkeyViews, {
    refreshInterval: VALKEY_VIEWS_INTERVAL_MS,
    refreshWhenHidden: false,
    revalidateOnFocus: true,
    keepPreviousData: true,
    errorRetryInterval: VALKEY_VIEWS_INTERVAL_MS,
    dedupingInterval: 1000,
  });
  const state: ConnectionState =
    (isLoading || !enabled) && !data ? "loading" : error ? "reconnecting" : data?.connected === false ? "down" : data ? "connected" : "loading";
  return {
    views: data,
    state,
    stale: state === "reconnecting" || state === "down",
    lastUpdated: lastGood ? Date.parse(lastGood.timestamp) : null,
    error,
  };
}
