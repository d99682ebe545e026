import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";
import { SIMULATE_BOUNDS } from "@/lib/schemas";

describe("config of the limiter", () => {
  it("has defaults for the breaker, the stampede lock and the anonymous row", () => {
    expect(parseConfig({})).toMatchObject({
      RATE_LIMIT_ALGORITHM: "sliding-log",
      RATE_LIMIT_TOKENS: 0,
      FAIL_MODE_BY_TIER: {},
      BREAKER_THRESHOLD: 5,
      BREAKER_COOLDOWN_MS: 2000,
      STAMPEDE_LOCK_MS: 10_000,
      // The owner renews its lock while it generates, so waiters wait for a slow model up to a minute.
      STAMPEDE_WAIT_MS: 60_000,
      CACHE_SCOPE: "global",
      SIMULATED_MODELS: ["flowgate-sim-1", "flowgate-sim-mini"],
      UPSTREAM_MODEL_MAP: {},
    });
    expect(parseConfig({}).UPSTREAM_BASE_URL).toBeUndefined();
    expect(parseConfig({}).ADMIN_TOKEN).toBeUndefined();
  });

  it("parses per-tier fail modes and the admin token", () => {
    const c = parseConfig({ FAIL_MODE_BY_TIER: "enterprise:open, anonymous:closed", ADMIN_TOKEN: "x".repeat(16) });
    expect(c.FAIL_MODE_BY_TIER).toEqual({ enterprise: "open", anonymous: "closed" });
    expect(c.ADMIN_TOKEN).toBe("x".repeat(16));
  });

  it("parses an upstream, its model map and timeouts", () => {
    const c = parseConfig({
      UPSTREAM_BASE_URL: "http://127.0.0.1:11434/v1",
      UPSTREAM_MODEL_MAP: "gpt-4o-mini=llama3.2:3b, flowgate=meta-llama/Llama-3.1-8B-Instruct",
      UPSTREAM_TIMEOUT_MS: "120000",
      CACHE_SCOPE: "key",
    });
    expect(c.UPSTREAM_MODEL_MAP).toEqual({ "gpt-4o-mini": "llama3.2:3b", flowgate: "meta-llama/Llama-3.1-8B-Instruct" });
    expect(c).toMatchObject({ UPSTREAM_TIMEOUT_MS: 120_000, CACHE_SCOPE: "key", UPSTREAM_FIRST_BYTE_TIMEOUT_MS: 30_000 });
  });

  it.each([
    ["UPSTREAM_BASE_URL", "ftp://example.test"],
    ["UPSTREAM_MODEL_MAP", "gpt-4o-mini"],
    ["CACHE_SCOPE", "tenant"],
    ["SIMULATED_MODELS", "a b"],
    ["FAIL_MODE_BY_TIER", "gold:open"],
    ["FAIL_MODE_BY_TIER", "free:maybe"],
    ["RATE_LIMIT_ALGORITHM", "leaky"],
    ["ADMIN_TOKEN", "short"],
    ["BREAKER_THRESHOLD", "0"],
  ])("refuses %s=%s naming the variable", (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(name);
  });
});

describe("config of the simulator", () => {
  it("refuses caps the request schema would refuse, naming the variable", () => {
    for (const [name, bound] of [
      ["SIMULATE_MAX_CONCURRENCY", SIMULATE_BOUNDS.concurrency],
      ["SIMULATE_MAX_COUNT", SIMULATE_BOUNDS.count],
    ] as const) {
      expect(() => parseConfig({ [name]: String(bound.max + 1) })).toThrow(ConfigError);
      expect(() => parseConfig({ [name]: String(bound.max + 1) })).toThrow(name);
      expect(() => parseConfig({ [name]: String(bound.min - 1) })).toThrow(name);
      expect(parseConfig({ [name]: String(bound.max) })[name]).toBe(bound.max);
    }
    expect(parseConfig({})).toMatchObject({ SIMULATE_MAX_CONCURRENCY: 50, SIMULATE_MAX_COUNT: 2000 });
  });
});
