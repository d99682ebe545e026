import {
  DAY_MS,
  TIERS,
  type Algorithm,
  type DimensionKind,
  type FailMode,
  type TierName,
} from "@/lib/tiers";

/** One limit of a plan, as decide.lua checks it. */
export interface Dimension {
  kind: DimensionKind;
  /** Policy name in headers, 429 bodies and events: `free`, `free-tokens`, `free-daily`. */
  name: string;
  algorithm: Algorithm;
  /** Units (requests or tokens) per window. */
  limit: number;
  windowMs: number;
}

export interface Policy {
  tier: TierName;
  /** The request dimension's limit and window (the X-RateLimit-* headers and the body's rateLimit). */
  limit: number;
  windowMs: number;
  /** Name of the request dimension: the tier's name. */
  name: string;
  /** Requests first, then tokens and the daily quota where the plan has them. */
  dimensions: Dimension[];
  /** Completion budget charged to the token limit, tokens. */
  maxCompletionTokens: number;
  failMode: FailMode;
}

export interface PolicyOverrides {
  /** The anonymous row, from RATE_LIMIT_MAX / _WINDOW_MS / _ALGORITHM / _TOKENS. */
  anonymous: { limit: number; windowMs: number; algorithm?: Algorithm; tokens?: number };
  /** FAIL_MODE, for tiers whose row sets none. */
  failMode?: FailMode;
  /** FAIL_MODE_BY_TIER. */
  failModeByTier?: Partial<Record<TierName, FailMode>>;
}

/** The limits that apply to a tier; the anonymous row's numbers come from config. */
export function policyFor(tier: TierName, overrides: PolicyOverrides | PolicyOverrides["anonymous"]): Policy {
  const o: PolicyOverrides = "anonymous" in overrides ? overrides : { anonymous: overrides };
  const base = TIERS[tier];
  const row =
    tier === "anonymous"
      ? {
          ...base,
          limit: o.anonymous.limit,
          windowMs: o.anonymous.windowMs,
          algorithm: o.anonymous.algorithm ?? base.algorithm,
          tokensPerWindow: o.anonymous.tokens ? o.anonymous.tokens : base.tokensPerWindow,
          tokenWindowMs: o.anonymous.tokens ? o.anonymous.windowMs : base.tokenWindowMs,
        }
      : base;
  const dimensions: Dimension[] = [
    { kind: "requests", name: tier, algorithm: row.algorithm, limit: row.limit, windowMs: row.windowMs },
  ];
  if (row.tokensPerWindow !== null) {
    dimensions.push({
      kind: "tokens",
      name: `${tier}-tokens`,
      algorithm: row.tokenAlgorithm,
      limit: row.tokensPerWindow,
      windowMs: row.tokenWindowMs,
    });
  }
  if (row.dailyRequests !== null) {
    dimensions.push({ kind: "daily", name: `${tier}-daily`, algorithm: "fixed-window", limit: row.dailyRequests, windowMs: DAY_MS });
  }
  return {
    tier,
    limit: row.limit,
    windowMs: row.windowMs,
    name: tier,
    dimensions,
    maxCompletionTokens: row.maxCompletionTokens,
    failMode: o.failModeByTier?.[tier] ?? row.failMode ?? o.failMode ?? "open",
  };
}

/** The completion tokens a request reserves: the client's max_tokens, else the plan's completion budget. */
export function completionBudget(policy: Policy, maxTokens?: number | null): number {
  return maxTokens ?? policy.maxCompletionTokens;
}

/** What a request costs in each dimension: 1 request, or its estimated prompt tokens plus its completion budget. */
export function costOf(dimension: Dimension, promptTokens: number, policy: Policy, maxTokens?: number | null): number {
  return dimension.kind === "tokens" ? promptTokens + completionBudget(policy, maxTokens) : 1;
}
