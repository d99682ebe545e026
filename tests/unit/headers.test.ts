import { describe, expect, it } from "vitest";
import { rateLimitHeaders, secondsUntil } from "@/lib/gateway/headers";

const now = 1_700_000_000_500;

describe("rate-limit headers", () => {
  it("formats an allowed decision", () => {
    const headers = rateLimitHeaders(
      { limit: 10, remaining: 7, resetAt: now + 42_300, windowMs: 60_000, policy: "anonymous", allowed: true, retryAfterMs: 0 },
      now,
    );
    expect(headers).toEqual({
      "X-RateLimit-Limit": "10",
      "X-RateLimit-Remaining": "7",
      "X-RateLimit-Reset": String(Math.ceil((now + 42_300) / 1000)),
      "RateLimit-Policy": '"anonymous";q=10;w=60',
      RateLimit: '"anonymous";r=7;t=43',
    });
  });

  it("adds Retry-After in whole seconds, at least 1, on a refusal", () => {
    const base = { limit: 10, remaining: 0, windowMs: 60_000, policy: "free", allowed: false };
    expect(rateLimitHeaders({ ...base, resetAt: now + 1500, retryAfterMs: 1500 }, now)["Retry-After"]).toBe("2");
    expect(rateLimitHeaders({ ...base, resetAt: now + 10, retryAfterMs: 10 }, now)["Retry-After"]).toBe("1");
  });

  it("never counts down below zero", () => {
    expect(secondsUntil(now - 5000, now)).toBe(0);
  });
});
