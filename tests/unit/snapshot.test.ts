import { describe, expect, it } from "vitest";
import { hitRatio, mergeActivity, mergeTop, numericHash, parseInfo, sumRecent, toActivityEvent, toDoorTotals, toTimeBucket, toTotals, toValkeyInfo } from "@/lib/stats/snapshot";
import { bucketStart, createKeySpace, shardOf } from "@/lib/valkey/keys";

describe("stats helpers", () => {
  it("computes the hit ratio, 0 when nothing was looked up", () => {
    expect(hitRatio(0, 0)).toBe(0);
    expect(hitRatio(3, 1)).toBe(0.75);
  });

  it("merges this and last minute's top lists into one ranking", () => {
    expect(
      mergeTop(
        [
          [["a", 5], ["b", 3]],
          [["b", 4], ["c", 1]],
        ],
        2,
      ),
    ).toEqual([["b", 7], ["a", 5]]);
  });

  it("reads counter hashes and time buckets", () => {
    const hash = numericHash(["req", "5", "ok", "4", "blk", "1"]);
    expect(toTimeBucket(10, hash)).toEqual({ t: 10, requests: 5, allowed: 4, blocked: 1, hits: 0, misses: 0, tokens: 0, doors: { generate: 0, openai: 0 } });
    const buckets = [toTimeBucket(0, { req: 1 }), toTimeBucket(50_000, { req: 2 }), toTimeBucket(60_000, { req: 4 })];
    expect(sumRecent(buckets, "requests", 65_000, 60_000)).toBe(6);
  });

  it("reads the per-door counters of buckets and totals, 0 where older code wrote none", () => {
    expect(toTimeBucket(0, numericHash(["req", "5", "dg", "2", "do", "3"])).doors).toEqual({ generate: 2, openai: 3 });
    expect(toTimeBucket(0, numericHash(["req", "5", "do", "3"])).doors).toEqual({ generate: 0, openai: 3 });
    expect(toDoorTotals({ requests: 9, "door:generate": 4, "door:openai": 5 })).toEqual({ generate: 4, openai: 5 });
    expect(toDoorTotals({ requests: 9 })).toEqual({ generate: 0, openai: 0 });
  });

  it("adds up a bucket's outcome × door fields (decide.lua's layout), with older buckets' fields added in", () => {
    // 3 hits and 1 miss through generate, 2 refusals and 1 admission without a cache outcome through openai.
    const bucket = toTimeBucket(0, numericHash(["hg", "3", "mg", "1", "bo", "2", "ao", "1", "tok", "40"]));
    expect(bucket).toEqual({ t: 0, requests: 7, allowed: 5, blocked: 2, hits: 3, misses: 1, tokens: 40, doors: { generate: 4, openai: 3 } });
    // A bucket written across the change: the old fields and the new ones both count.
    const mixed = toTimeBucket(0, numericHash(["req", "2", "ok", "1", "blk", "1", "hit", "1", "dg", "2", "hg", "1"]));
    expect(mixed).toMatchObject({ requests: 3, allowed: 2, blocked: 1, hits: 2, doors: { generate: 3, openai: 0 } });
  });

  it("derives the totals' requests (the doors' sum) and allowed (less the blocked)", () => {
    expect(toTotals({ "door:generate": 6, "door:openai": 4, blocked: 3, hits: 5 })).toMatchObject({ requests: 10, allowed: 7, blocked: 3, hits: 5 });
    expect(toTotals({})).toMatchObject({ requests: 0, allowed: 0 });
  });

  it("parses stream entries and drops damaged ones", () => {
    const entry = ["1700000000000-0", ["type", "hit", "id", "r1", "who", "ip:1.2.3.4", "tier", "anonymous", "n", "3", "limit", "10", "rem", "7", "reset", "1700000060000", "ck", "abc", "tok", "42", "saved_ms", "700", "ts", "1700000000000"]];
    expect(toActivityEvent(entry)).toMatchObject({ type: "hit", identity: "ip:1.2.3.4", tokens: 42, savedMs: 700, remaining: 7, policy: "anonymous", coalesced: false });
    const refused = ["1-1", ["type", "blocked", "policy", "free-tokens", "co", "0", "tier", "free"]];
    expect(toActivityEvent(refused)).toMatchObject({ policy: "free-tokens", tier: "free" });
    expect(toActivityEvent(["1-2", ["type", "hit", "co", "1"]])).toMatchObject({ coalesced: true });
    expect(toActivityEvent(["1-0", ["type", "bogus"]])).toBeNull();
    expect(toActivityEvent("junk")).toBeNull();
    // The door and the model; events from before they were logged came through generate, model unknown.
    expect(toActivityEvent(["1-3", ["type", "miss", "door", "openai", "model", "flowgate-sim-1"]])).toMatchObject({ door: "openai", model: "flowgate-sim-1" });
    expect(toActivityEvent(["1-4", ["type", "miss", "door", "generate", "model", "flowgate-sim-1"]])).toMatchObject({ door: "generate", model: "flowgate-sim-1" });
    expect(toActivityEvent(entry)).toMatchObject({ door: "generate", model: "" });
    expect(toActivityEvent(["1-5", ["type", "miss", "door", "smtp"]])).toBeNull();
    const a = toActivityEvent(entry)!;
    expect(mergeActivity([[a], [{ ...a, id: "x", timestamp: a.timestamp + 1 }]], 5).map((e) => e.id)).toEqual(["x", a.id]);
  });

  it("tells Valkey from Redis in INFO", () => {
    const valkey = toValkeyInfo(parseInfo("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\nused_memory:1024\r\n"), 1.5);
    expect(valkey).toMatchObject({ server: "valkey", version: "8.0.1", usedMemoryBytes: 1024, roundTripMs: 1.5 });
    expect(toValkeyInfo(parseInfo("redis_version:7.0.15\n"), 1).server).toBe("redis");
  });
});

describe("key schema", () => {
  it("builds every key from one prefix with the shard tag", () => {
    const keys = createKeySpace("fg:");
    expect(keys.rateLimit(0, "ip:1.2.3.4")).toBe("fg:{0}:rl:ip:1.2.3.4");
    expect(keys.cache("ab".repeat(32))).toBe(`fg:cache:{${"ab".repeat(32)}}`);
    expect(keys.bucket(2, 30_000)).toBe("fg:{2}:ts:30000");
    expect(bucketStart(12_345)).toBe(10_000);
  });

  it("spreads identities over shards, stably", () => {
    expect(shardOf("ip:1.2.3.4", 1)).toBe(0);
    const seen = new Set(Array.from({ length: 200 }, (_, i) => shardOf(`ip:10.0.0.${i}`, 4)));
    expect(seen).toEqual(new Set([0, 1, 2, 3]));
    expect(shardOf("ip:10.0.0.1", 4)).toBe(shardOf("ip:10.0.0.1", 4));
  });
});
