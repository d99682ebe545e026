import { describe, expect, it } from "vitest";
import { classify, clientAddress, isLocalTarget, parseDuration, parseLoadArgs, progressBar } from "@/scripts/lib/load-options";
import { median, percentile, summarize } from "@/scripts/lib/percentiles";

describe("load generator options", () => {
  it("reads the documented example", () => {
    const o = parseLoadArgs(["--rps", "200", "--duration", "30s", "--clients", "50", "--repeat", "0.6"]);
    expect(o).toMatchObject({ url: "http://127.0.0.1:3000", rps: 200, durationSeconds: 30, clients: 50, repeat: 0.6, connections: 32 });
  });

  it("takes --flag=value and trims a trailing slash", () => {
    expect(parseLoadArgs(["--url=http://localhost:3300/", "--clients=3"])).toMatchObject({ url: "http://localhost:3300", clients: 3, connections: 3 });
  });

  it("parses durations", () => {
    expect(parseDuration("30s")).toBe(30);
    expect(parseDuration("2m")).toBe(120);
    expect(parseDuration("1500ms")).toBe(1.5);
    expect(parseDuration("45")).toBe(45);
    expect(() => parseDuration("soon")).toThrow(/--duration/);
  });

  it("refuses values past its bounds, naming the option", () => {
    expect(() => parseLoadArgs(["--rps", "5001"])).toThrow(/--rps/);
    expect(() => parseLoadArgs(["--duration", "11m"])).toThrow(/--duration/);
    expect(() => parseLoadArgs(["--repeat", "1.5"])).toThrow(/--repeat/);
    expect(() => parseLoadArgs(["--clients", "0"])).toThrow(/--clients/);
    expect(() => parseLoadArgs(["--bogus"])).toThrow(/unknown option/);
  });

  it("drives only this machine unless told otherwise", () => {
    expect(isLocalTarget("http://127.0.0.1:3000")).toBe(true);
    expect(isLocalTarget("http://localhost:3000")).toBe(true);
    expect(isLocalTarget("http://[::1]:3000")).toBe(true);
    expect(() => parseLoadArgs(["--url", "http://example.com"])).toThrow(/--allow-remote/);
    expect(parseLoadArgs(["--url", "http://example.com", "--allow-remote"]).url).toBe("http://example.com");
    expect(() => parseLoadArgs(["--url", "ftp://127.0.0.1"])).toThrow(/http/);
  });

  it("gives each client its own benchmark-range address", () => {
    expect(clientAddress(0)).toBe("198.18.0.0");
    expect(clientAddress(257)).toBe("198.18.1.1");
    expect(clientAddress(65_536)).toBe("198.19.0.0");
    expect(new Set(Array.from({ length: 1000 }, (_, i) => clientAddress(i))).size).toBe(1000);
  });

  it("counts answers by status and X-Cache", () => {
    expect(classify(200, "HIT")).toBe("hit");
    expect(classify(200, "MISS")).toBe("miss");
    expect(classify(200, "BYPASS")).toBe("other");
    expect(classify(429, undefined)).toBe("blocked");
    expect(classify(503, undefined)).toBe("serverError");
    expect(classify(401, undefined)).toBe("other");
  });

  it("draws a bounded progress bar", () => {
    expect(progressBar(0.5, 10)).toBe("[#####-----]  50%");
    expect(progressBar(2, 4)).toBe("[####] 100%");
  });
});

describe("percentiles", () => {
  it("uses the nearest rank", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([], 50)).toBe(0);
  });

  it("summarizes unsorted samples", () => {
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, p50: 2, max: 3, mean: 2 });
  });

  it("takes the mean of the two middle values for an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
  });
});
