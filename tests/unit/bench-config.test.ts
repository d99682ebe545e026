import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

describe("BENCH_ROUTES", () => {
  it("is off unless set", () => {
    expect(parseConfig({}).BENCH_ROUTES).toBe(false);
    expect(parseConfig({ BENCH_ROUTES: "" }).BENCH_ROUTES).toBe(false);
    expect(parseConfig({ BENCH_ROUTES: "0" }).BENCH_ROUTES).toBe(false);
  });

  it("turns on with 1 or true", () => {
    expect(parseConfig({ BENCH_ROUTES: "1" }).BENCH_ROUTES).toBe(true);
    expect(parseConfig({ BENCH_ROUTES: "true" }).BENCH_ROUTES).toBe(true);
  });

  it("names itself when the value is bad", () => {
    expect(() => parseConfig({ BENCH_ROUTES: "maybe" })).toThrow(ConfigError);
    expect(() => parseConfig({ BENCH_ROUTES: "maybe" })).toThrow(/BENCH_ROUTES/);
  });
});
