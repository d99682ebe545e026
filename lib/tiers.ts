/**
 * Plans and their limits, in one typed table. Shared by server and dashboard,
 * so it imports neither the environment nor ioredis. The anonymous row's
 * numbers are the defaults; RATE_LIMIT_MAX and RATE_LIMIT_WINDOW_MS override
 * them at run time (lib/gateway/policy.ts).
 */
export const TIER_NAMES = ["anonymous", "free", "pro", "enterprise"] as const;
export type TierName = (typeof TIER_NAMES)[number];

export interface TierLimits {
  /** Requests admitted per window. */
  limit: number;
  /** Sliding window length, ms. */
  windowMs: number;
  /** One line for the dashboard and the docs. */
  label: string;
}

export const TIERS: Record<TierName, TierLimits> = {
  anonymous: { limit: 10, windowMs: 60_000, label: "Per client IP, no API key" },
  free: { limit: 30, windowMs: 60_000, label: "API key, free plan" },
  pro: { limit: 300, windowMs: 60_000, label: "API key, pro plan" },
  enterprise: { limit: 3000, windowMs: 60_000, label: "API key, enterprise plan" },
};
