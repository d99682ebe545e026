/**
 * Rate-limit headers of a decision. Pure, so unit tests pin the formats:
 * - X-RateLimit-Limit / -Remaining / -Reset (epoch seconds), the de-facto set,
 *   for the request dimension (what TokenFlow-style clients read);
 * - Retry-After (delta seconds) on a 429, from the policy that refused;
 * - RateLimit-Policy and RateLimit, the IETF httpapi structured fields
 *   (draft-ietf-httpapi-ratelimit-headers), one list item per dimension:
 *   `"name";q=limit;w=window-s` and `"name";r=remaining;t=seconds-until-reset`;
 * - OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens}, the
 *   reset as a Go-style duration ("1s", "6m0s", "350ms").
 */

export interface HeaderDecision {
  limit: number;
  remaining: number;
  /** Unix ms. */
  resetAt: number;
  windowMs: number;
  policy: string;
  allowed: boolean;
  /** ms; only used when not allowed. */
  retryAfterMs: number;
}

export interface HeaderDimension {
  /** Policy name. */
  name: string;
  kind: "requests" | "tokens" | "daily";
  limit: number;
  remaining: number;
  /** Unix ms. */
  resetAt: number;
  windowMs: number;
}

export function secondsUntil(resetAtMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((resetAtMs - nowMs) / 1000));
}

/** The single-policy header set (one dimension). */
export function rateLimitHeaders(d: HeaderDecision, nowMs: number): Record<string, string> {
  const resetSeconds = secondsUntil(d.resetAt, nowMs);
  const headers: Record<string, string> = {
    "X-RateLimit-Limit": String(d.limit),
    "X-RateLimit-Remaining": String(d.remaining),
    "X-RateLimit-Reset": String(Math.ceil(d.resetAt / 1000)),
    "RateLimit-Policy": policyItem(d.policy, d.limit, d.windowMs),
    RateLimit: `"${d.policy}";r=${d.remaining};t=${resetSeconds}`,
  };
  if (!d.allowed) headers["Retry-After"] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)));
  return headers;
}

function policyItem(name: string, limit: number, windowMs: number): string {
  return `"${name}";q=${limit};w=${Math.max(1, Math.round(windowMs / 1000))}`;
}

/**
 * A duration as OpenAI writes its reset headers (Go's time.Duration): "0s",
 * "350ms", "1s", "1.5s", "6m0s", "1h2m3s". Whole ms; seconds keep up to
 * three decimals, trailing zeros dropped.
 */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return "0s";
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const secondsMs = total % 60_000;
  const seconds = (secondsMs / 1000).toFixed(3).replace(/\.?0+$/, "");
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Every header of a multi-dimensional decision; dimensions[0] is the request dimension. */
export function limitHeaders(
  dimensions: readonly HeaderDimension[],
  outcome: { allowed: boolean; retryAfterMs: number },
  nowMs: number,
): Record<string, string> {
  const requests = dimensions[0];
  if (!requests) return {};
  const headers = rateLimitHeaders(
    { ...requests, policy: requests.name, allowed: outcome.allowed, retryAfterMs: outcome.retryAfterMs },
    nowMs,
  );
  headers["RateLimit-Policy"] = dimensions.map((d) => policyItem(d.name, d.limit, d.windowMs)).join(", ");
  headers.RateLimit = dimensions.map((d) => `"${d.name}";r=${d.remaining};t=${secondsUntil(d.resetAt, nowMs)}`).join(", ");
  for (const [kind, suffix] of [["requests", "requests"], ["tokens", "tokens"]] as const) {
    const d = dimensions.find((x) => x.kind === kind);
    if (!d) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(d.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(d.remaining);
    headers[`x-ratelimit-reset-${suffix}`] = formatResetDuration(d.resetAt - nowMs);
  }
  return headers;
}
