"use client";

import "@/lib/hooks/zod-jitless";
import useSWR from "swr";
import { ERROR_STATUS, GatewayError, type ErrorCode } from "@/lib/errors";
import { errorBodySchema, statsSchema, type Stats } from "@/lib/schemas";

export const STATS_URL = "/api/stats";
/** Poll period, ms; NEXT_PUBLIC_STATS_INTERVAL_MS overrides it at build time. */
export const STATS_INTERVAL_MS = Number(process.env.NEXT_PUBLIC_STATS_INTERVAL_MS) || 2000;

/** Turns a non-2xx JSON error body back into the error class the server threw. */
export async function fetchJson<T>(url: string, parse: (value: unknown) => T, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { cache: "no-store", ...init });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const parsed = errorBodySchema.safeParse(body);
    const code = (parsed.success && parsed.data.code in ERROR_STATUS ? parsed.data.code : "internal") as ErrorCode;
    throw new GatewayError(code, parsed.success ? parsed.data.error : `${url} answered ${res.status}`);
  }
  return parse(body);
}

/**
 * While Valkey is down /api/stats answers `connected: false` with zeros. The
 * dashboard keeps showing the last good numbers (greyed) rather than a wall
 * of zeros, so the fetcher carries them over and marks them stale.
 */
let lastGood: Stats | null = null;

export async function fetchStats(url: string): Promise<Stats> {
  const stats = await fetchJson(url, (v) => statsSchema.parse(v));
  if (stats.connected) {
    lastGood = stats;
    return stats;
  }
  return lastGood ? { ...lastGood, connected: false, error: stats.error, timestamp: stats.timestamp } : stats;
}

export type ConnectionState = "loading" | "connected" | "reconnecting" | "down";

export interface StatsView {
  stats: Stats | undefined;
  state: ConnectionState;
  /** True when the numbers shown are not current (Valkey down or the app unreachable). */
  stale: boolean;
  /** Unix ms of the last snapshot read while connected. */
  lastUpdated: number | null;
  error: Error | undefined;
  refresh: () => Promise<unknown>;
}

/** The dashboard's one poller. SWR dedupes it across components and pauses it while the tab is hidden. */
export function useStats(): StatsView {
  const { data, error, isLoading, mutate } = useSWR<Stats, Error>(STATS_URL, fetchStats, {
    refreshInterval: STATS_INTERVAL_MS,
    refreshWhenHidden: false,
    revalidateOnFocus: true,
    keepPreviousData: true,
    errorRetryInterval: STATS_INTERVAL_MS,
    dedupingInterval: 500,
  });
  const state: ConnectionState = isLoading && !data ? "loading" : error ? "reconnecting" : data?.connected === false ? "down" : data ? "connected" : "loading";
  return {
    stats: data,
    state,
    stale: state === "reconnecting" || state === "down",
    lastUpdated: lastGood ? Date.parse(lastGood.timestamp) : null,
    error,
    refresh: () => mutate(),
  };
}
