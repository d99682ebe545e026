import { describe, expect, it } from "vitest";
import type { ActivityEvent, Stats, TopConsumer } from "@/lib/schemas";
import { maskIdentity, maskStats } from "@/lib/stats/privacy";

describe("maskIdentity", () => {
  it("keeps an IPv4 address's /24 and an IPv6 address's /48", () => {
    expect(maskIdentity("ip:203.0.113.77")).toBe("ip:203.0.113.0/24");
    expect(maskIdentity("ip:2001:db8:1:2::/64")).toBe("ip:2001:db8:1::/48");
    expect(maskIdentity("ip:2001:db8:1:2::5")).toBe("ip:2001:db8:1::/48");
    expect(maskIdentity("ip:2001:db8::/32")).toBe("ip:2001:db8::/32");
    expect(maskIdentity("ip:::1")).toBe("ip:::/48");
  });

  it("leaves keys, simulated callers and the unknown caller alone, and hides what it cannot read", () => {
    for (const id of ["key:0123456789ab", "sim:pro:3", "ip:unknown"]) expect(maskIdentity(id)).toBe(id);
    expect(maskIdentity("ip:not-an-address")).toBe("ip:masked");
  });
});

describe("maskStats", () => {
  const consumer = (identity: string, requests: number, blocked = 0): TopConsumer => ({
    identity,
    tier: "anonymous",
    requests,
    blocked,
  });
  const event = (identity: string): ActivityEvent =>
    ({ id: "1-0", requestId: "r", type: "hit", identity, tier: "anonymous", policy: "anonymous" }) as ActivityEvent;
  const stats = {
    connected: true,
    rateLimit: {
      totalKeys: 4,
      topConsumers: [consumer("ip:203.0.113.5", 5, 1), consumer("key:0123456789ab", 4), consumer("ip:203.0.113.9", 3, 2), consumer("ip:198.51.100.1", 1)],
      blockedRequests: 3,
      requestsPerMinute: 13,
      blockedPerMinute: 3,
      anonymousPolicy: { limit: 10, windowMs: 60_000 },
    },
    activity: [event("ip:203.0.113.5"), event("ip:2001:db8:1:2::/64"), event("key:0123456789ab")],
  } as unknown as Stats;

  it("masks every address in the top consumers and the activity, merging one network's rows", () => {
    const masked = maskStats(stats);
    expect(masked.rateLimit.topConsumers).toEqual([
      consumer("ip:203.0.113.0/24", 8, 3),
      consumer("key:0123456789ab", 4),
      consumer("ip:198.51.100.0/24", 1),
    ]);
    expect(masked.activity.map((e) => e.identity)).toEqual(["ip:203.0.113.0/24", "ip:2001:db8:1::/48", "key:0123456789ab"]);
    expect(JSON.stringify(masked)).not.toMatch(/203\.0\.113\.[59]\b|2001:db8:1:2/);
    // The input is not changed.
    expect(stats.rateLimit.topConsumers[0]?.identity).toBe("ip:203.0.113.5");
  });
});
