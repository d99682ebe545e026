"use client";

import useSWR from "swr";
import { ERROR_STATUS, GatewayError, type ErrorCode } from "@/lib/errors";
import type { Stats } from "@/lib/schemas";

export const STATS_URL = "/api/stats";
/** Poll period, ms; NEXT_PUBLIC_STATS_INTERVAL_MS overrides it at build time. */
export const STATS_INTERVAL_MS = Number(process.env.NEXT_PUBLIC_STATS_INTERVAL_MS) || 2000;

/** The `{ error, code }` of a non-2xx answer (errorBodySchema's shape), or null. */
function errorBody(body: unknown): { error: string; code: string } | null {
  if (typeof body !== "object" || body === null) return null;
  const { error, code } = body as Record<string, unknown>;
  return typeof error === "string" && typeof code === "string" ? { error, code } : null;
}

/** Turns a non-2xx JSON error body back into the error class the server threw. */
export async function fetchJson<T>(url: string, parse: (value: unknown) => T, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { cache: "no-store", ...init });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const parsed = errorBody(body);
    const code = (parsed && parsed.code in ERROR_STATUS ? parsed.code : "internal") as ErrorCode;
    throw new GatewayError(code, parsed ? parsed.error : `${url} answered ${res.status}`);
  }
  return parse(body);
}

/**
 * The snapshot as the server sent it. The dashboard asks its own origin, whose
 * /api/stats is checked against statsSchema by the tests (and the OpenAPI
 * document's live checks), so the browser does not ship zod to re-check it:
 * zod was a fifth of the first screen's script. It still refuses what is not
 * a snapshot at all (a proxy's error page, a different service on the port).
 */
export function asStats(value: unknown, url = STATS_URL): Stats {
  const v = value as Partial<Stats> | null;
  if (typeof v !== "object" || v === null || typeof v.connected !== "boolean" || typeof v.timestamp !== "string" || typeof v.totals !== "object") {
    throw new GatewayError("internal", `${url} did not answer with a stats snapshot`);
  }
  return v as Stats;
}

/**
 * While Valkey is down /api/stats answers `connected: false` with zeros. The
 * dashboard keeps showing the last good numbers (greyed) rather than a wall
 * of zeros, so the fetcher carries them over and marks them stale.
 */
let lastGood: Stats | null = null;

export async function fetchStats(url: string): Promise<Stats> {
  const stats = await fetchJson(url, (v) => asStats(v, url));
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
