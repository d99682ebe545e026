/**
 * Plans and their limits, in one typed table. Shared by server and dashboard,
 * so it imports neither the environment nor ioredis. The anonymous row's
 * numbers are the defaults; RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_MS,
 * RATE_LIMIT_ALGORITHM and RATE_LIMIT_TOKENS override them at run time
 * (lib/gateway/policy.ts).
 */
export const TIER_NAMES = ["anonymous", "free", "pro", "enterprise"] as const;
export type TierName = (typeof TIER_NAMES)[number];

/** The four limiter algorithms, each one Lua script in lib/valkey/scripts/algorithms/. */
export const ALGORITHMS = ["sliding-log", "sliding-counter", "token-bucket", "fixed-window"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * Token limits cannot use the sliding log: it keeps one member per unit, so a
 * 1,000-token request would write 1,000 members and every check would count
 * them (O(n) in tokens). Counters and buckets hold a token budget in O(1).
 */
export type TokenAlgorithm = Exclude<Algorithm, "sliding-log">;

export const ALGORITHM_LABELS: Record<Algorithm, string> = {
  "sliding-log": "Sliding-window log",
  "sliding-counter": "Sliding-window counter",
  "token-bucket": "Token bucket",
  "fixed-window": "Fixed window",
};

export type FailMode = "open" | "closed";

export interface TierLimits {
  /** Requests admitted per window. */
  limit: number;
  /** Request window length, ms. */
  windowMs: number;
  /** How the request limit is counted. */
  algorithm: Algorithm;
  /** Tokens (estimated prompt + completion budget) admitted per window; null: no token limit. */
  tokensPerWindow: number | null;
  /** Token window length, ms. */
  tokenWindowMs: number;
  tokenAlgorithm: TokenAlgorithm;
  /** Requests per UTC day (a fixed window of 24 h); null: no daily quota. */
  dailyRequests: number | null;
  /** The completion budget charged to the token limit up front, tokens. */
  maxCompletionTokens: number;
  /** Valkey unusable: serve from the in-process fallback limiter (open) or 503 (closed); unset: FAIL_MODE. */
  failMode?: FailMode;
  /** One line for the dashboard and the docs. */
  label: string;
}

export const TIERS: Record<TierName, TierLimits> = {
  anonymous: {
    limit: 10,
    windowMs: 60_000,
    algorithm: "sliding-log",
    tokensPerWindow: null,
    tokenWindowMs: 60_000,
    tokenAlgorithm: "token-bucket",
    dailyRequests: null,
    maxCompletionTokens: 256,
    label: "Per client IP, no API key",
  },
  free: {
    limit: 30,
    windowMs: 60_000,
    algorithm: "sliding-log",
    tokensPerWindow: 20_000,
    tokenWindowMs: 60_000,
    tokenAlgorithm: "token-bucket",
    dailyRequests: 1_000,
    maxCompletionTokens: 512,
    label: "API key, free plan",
  },
  pro: {
    limit: 300,
    windowMs: 60_000,
    algorithm: "sliding-counter",
    tokensPerWindow: 200_000,
    tokenWindowMs: 60_000,
    tokenAlgorithm: "token-bucket",
    dailyRequests: null,
    maxCompletionTokens: 2_048,
    label: "API key, pro plan",
  },
  enterprise: {
    limit: 3000,
    windowMs: 60_000,
    algorithm: "token-bucket",
    tokensPerWindow: 2_000_000,
    tokenWindowMs: 60_000,
    tokenAlgorithm: "sliding-counter",
    dailyRequests: null,
    maxCompletionTokens: 4_096,
    label: "API key, enterprise plan",
  },
};

/** A UTC day, ms: the daily quota's fixed window. */
export const DAY_MS = 86_400_000;

/** The dimensions a plan can limit, in the order decide.lua checks them. */
export const DIMENSION_KINDS = ["requests", "tokens", "daily"] as const;
export type DimensionKind = (typeof DIMENSION_KINDS)[number];
