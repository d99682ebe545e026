import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

describe("config", () => {
  it("has working defaults", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      VALKEY_URL: "redis://127.0.0.1:6380",
      RATE_LIMIT_MAX: 10,
      RATE_LIMIT_WINDOW_MS: 60_000,
      FAIL_MODE: "open",
      TRUST_PROXY: 0,
      CACHE_TTL_SECONDS: 3600,
      STREAM_MAXLEN: 1000,
    });
    expect(config.API_KEYS.map((k) => k.tier)).toEqual(["free", "pro", "enterprise"]);
  });

  it("coerces numbers, booleans and lists", () => {
    const config = parseConfig({ RATE_LIMIT_MAX: "25", TRUST_PROXY: "true", API_KEYS: "a:pro, b:free", FAIL_MODE: "closed" });
    expect(config.RATE_LIMIT_MAX).toBe(25);
    expect(config.TRUST_PROXY).toBe(1);
    expect(parseConfig({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(config.API_KEYS).toEqual([{ key: "a", tier: "pro" }, { key: "b", tier: "free" }]);
  });

  it.each([
    ["RATE_LIMIT_MAX", "ten"],
    ["RATE_LIMIT_MAX", "0"],
    ["FAIL_MODE", "sideways"],
    ["VALKEY_URL", "http://localhost"],
    ["TRUST_PROXY", "maybe"],
    ["API_KEYS", "key-without-tier"],
    ["API_KEYS", "k:platinum"],
    ["STREAM_MAXLEN", "-1"],
  ])("refuses %s=%s with a message that names it", (name, value) => {
    try {
      parseConfig({ [name]: value });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(name);
    }
  });

  it("takes TRUST_PROXY as trusted addresses and ranges, in Express's trust proxy style", () => {
    expect(parseConfig({ TRUST_PROXY: "loopback,10.0.0.0/8" }).TRUST_PROXY).toEqual(["loopback", "10.0.0.0/8"]);
    expect(parseConfig({ TRUST_PROXY: " uniquelocal , linklocal, 192.0.2.1, 2001:db8::/32 " }).TRUST_PROXY).toEqual([
      "uniquelocal",
      "linklocal",
      "192.0.2.1",
      "2001:db8::/32",
    ]);
    expect(parseConfig({ TRUST_PROXY: "false" }).TRUST_PROXY).toBe(0);
    for (const bad of ["10.0.0.0/33", "11", "0x7f.1", "loopback,proxy.internal", "sometimes"]) {
      expect(() => parseConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
  });

  it("groups IPv6 by /64 unless IPV6_PREFIX_BITS says otherwise", () => {
    expect(parseConfig({}).IPV6_PREFIX_BITS).toBe(64);
    expect(parseConfig({ IPV6_PREFIX_BITS: "56" }).IPV6_PREFIX_BITS).toBe(56);
    expect(() => parseConfig({ IPV6_PREFIX_BITS: "129" })).toThrow(/IPV6_PREFIX_BITS/);
  });

  it("budgets 10 wrong API keys a minute per address unless AUTH_FAILURES_PER_MINUTE says otherwise", () => {
    expect(parseConfig({}).AUTH_FAILURES_PER_MINUTE).toBe(10);
    expect(parseConfig({ AUTH_FAILURES_PER_MINUTE: "3" }).AUTH_FAILURES_PER_MINUTE).toBe(3);
    expect(() => parseConfig({ AUTH_FAILURES_PER_MINUTE: "0" })).toThrow(/AUTH_FAILURES_PER_MINUTE/);
  });

  it("treats empty values as unset", () => {
    expect(parseConfig({ RATE_LIMIT_MAX: "" }).RATE_LIMIT_MAX).toBe(10);
  });
});

describe("API keys in production", () => {
  it("has no keys with NODE_ENV=production and API_KEYS unset (or empty)", () => {
    expect(parseConfig({ NODE_ENV: "production" }).API_KEYS).toEqual([]);
    expect(parseConfig({ NODE_ENV: "production", API_KEYS: "" }).API_KEYS).toEqual([]);
  });

  it("keeps the demo keys in a production build only for the local demo (FLOWGATE_DEMO)", () => {
    expect(parseConfig({ NODE_ENV: "production", FLOWGATE_DEMO: "true" }).API_KEYS.map((k) => k.key)).toEqual([
      "demo-free-key",
      "demo-pro-key",
      "demo-enterprise-key",
    ]);
    expect(parseConfig({ NODE_ENV: "production", FLOWGATE_DEMO: "true", API_KEYS: "k1:pro" }).API_KEYS).toEqual([{ key: "k1", tier: "pro" }]);
  });

  it("takes the keys it is given in production, and keeps the demo keys elsewhere", () => {
    expect(parseConfig({ NODE_ENV: "production", API_KEYS: "sk-real:enterprise" }).API_KEYS).toEqual([{ key: "sk-real", tier: "enterprise" }]);
    for (const env of [{}, { NODE_ENV: "development" }, { NODE_ENV: "test" }]) {
      expect(parseConfig(env).API_KEYS.map((k) => k.key)).toEqual(["demo-free-key", "demo-pro-key", "demo-enterprise-key"]);
    }
  });

  it("says so in the start-up log, without printing a key", async () => {
    const { startupNotes } = await import("@/lib/startup");
    const production = startupNotes(parseConfig({ NODE_ENV: "production" })).join("\n");
    expect(production).toMatch(/no API keys/);
    expect(production).toMatch(/NODE_ENV=production/);
    expect(startupNotes(parseConfig({})).join("\n")).toMatch(/demo keys/);
    const given = startupNotes(parseConfig({ NODE_ENV: "production", API_KEYS: "sk-real-1:pro,sk-real-2:free" })).join("\n");
    expect(given).toMatch(/2 API keys/);
    expect(given).not.toContain("sk-real");
  });
});

describe("start-up log", () => {
  it("never prints the Valkey password", async () => {
    const { redacted } = await import("@/lib/startup");
    expect(redacted("redis://:s3cret@127.0.0.1:6380")).toBe("redis://:***@127.0.0.1:6380");
    expect(redacted("rediss://user:p%40ss@host:6379/0")).toBe("rediss://user:***@host:6379/0");
    expect(redacted("redis://127.0.0.1:6380")).toBe("redis://127.0.0.1:6380");
  });
});
