/**
 * Rate-limit headers of a decision. Pure, so unit tests pin the formats:
 * - X-RateLimit-Limit / -Remaining / -Reset (epoch seconds), the de-facto set;
 * - Retry-After (delta seconds) on a 429;
 * - RateLimit-Policy and RateLimit, the IETF httpapi structured fields
 *   (draft-ietf-httpapi-ratelimit-headers): `"name";q=limit;w=window-s` and
 *   `"name";r=remaining;t=seconds-until-reset`.
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

export function secondsUntil(resetAtMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((resetAtMs - nowMs) / 1000));
}

export function rateLimitHeaders(d: HeaderDecision, nowMs: number): Record<string, string> {
  const resetSeconds = secondsUntil(d.resetAt, nowMs);
  const headers: Record<string, string> = {
    "X-RateLimit-Limit": String(d.limit),
    "X-RateLimit-Remaining": String(d.remaining),
    "X-RateLimit-Reset": String(Math.ceil(d.resetAt / 1000)),
    "RateLimit-Policy": `"${d.policy}";q=${d.limit};w=${Math.max(1, Math.round(d.windowMs / 1000))}`,
    RateLimit: `"${d.policy}";r=${d.remaining};t=${resetSeconds}`,
  };
  if (!d.allowed) headers["Retry-After"] = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)));
  return headers;
}
