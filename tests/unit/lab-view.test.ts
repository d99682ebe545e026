import { describe, expect, it } from "vitest";
import { formatBytes, formatRatio, formatSeconds, toLabChartRows } from "@/lib/lab-view";

describe("algorithm lab view helpers", () => {
  it("turns the lab's series into one chart row per bin", () => {
    const rows = toLabChartRows({
      series: [
        { t: 0, sent: 3, admitted: { "sliding-log": 3, "sliding-counter": 3, "token-bucket": 3, "fixed-window": 3 } },
        { t: 6000, sent: 40, admitted: { "sliding-log": 6, "sliding-counter": 5, "token-bucket": 10, "fixed-window": 15 } },
      ],
    });
    expect(rows[1]).toEqual({
      t: 6000, label: "6s", sent: 40,
      "sliding-log": 6, "sliding-counter": 5, "token-bucket": 10, "fixed-window": 15,
    });
  });

  it("formats seconds, ratios and bytes", () => {
    expect(formatSeconds(1500)).toBe("1.5s");
    expect(formatRatio(19, 10)).toBe("1.9×");
    expect(formatRatio(10, 10)).toBe("1×");
    expect(formatBytes(240)).toBe("240 B");
    expect(formatBytes(4096)).toBe("4.0 KiB");
  });
});
