import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";
import { humanBytes, mergeInfos } from "@/lib/stats/snapshot";
import { streamCapPerShard } from "@/lib/valkey/keys";

describe("cluster configuration", () => {
  it("reads VALKEY_CLUSTER_NODES as seed nodes and spreads analytics over 16 shards by default", () => {
    const config = parseConfig({ VALKEY_CLUSTER_NODES: "10.0.0.1:7000, valkey-2:7001,[::1]:7002" });
    expect(config.VALKEY_CLUSTER_NODES).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "valkey-2", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(config.VALKEY_SHARDS).toBe(16);
    expect(config.VALKEY_CLUSTER_TLS).toBe(false);
  });

  it("keeps one shard on a single server, and an explicit VALKEY_SHARDS in either mode", () => {
    expect(parseConfig({}).VALKEY_SHARDS).toBe(1);
    expect(parseConfig({}).VALKEY_CLUSTER_NODES).toBeUndefined();
    expect(parseConfig({ VALKEY_SHARDS: "4" }).VALKEY_SHARDS).toBe(4);
    expect(parseConfig({ VALKEY_CLUSTER_NODES: "h:1", VALKEY_SHARDS: "32" }).VALKEY_SHARDS).toBe(32);
  });

  it.each([
    ["VALKEY_CLUSTER_NODES", "localhost"],
    ["VALKEY_CLUSTER_NODES", "localhost:0"],
    ["VALKEY_CLUSTER_NODES", "localhost:70000"],
    ["VALKEY_CLUSTER_NODES", "redis://h:7000"],
    ["VALKEY_CLUSTER_NODES", " , "],
    ["VALKEY_CLUSTER_TLS", "sometimes"],
    ["VALKEY_SHARDS", "0"],
  ])("refuses %s=%s with a message that names it", (name, value) => {
    try {
      parseConfig({ [name]: value });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(name);
    }
  });
});

describe("the stream cap split over shards", () => {
  it("keeps the shards together within STREAM_MAXLEN, at least one entry each", () => {
    expect(streamCapPerShard(1000, 1)).toBe(1000);
    expect(streamCapPerShard(1000, 16)).toBe(62);
    expect(streamCapPerShard(1000, 16) * 16).toBeLessThanOrEqual(1000);
    expect(streamCapPerShard(10, 64)).toBe(1);
  });
});

describe("INFO of a cluster's masters as one", () => {
  it("sums memory, ops and clients, keeps the first node's version and mode", () => {
    const merged = mergeInfos([
      { valkey_version: "8.0.1", redis_mode: "cluster", used_memory: "1048576", instantaneous_ops_per_sec: "3", connected_clients: "2", uptime_in_seconds: "50" },
      { valkey_version: "8.0.1", redis_mode: "cluster", used_memory: "1048576", instantaneous_ops_per_sec: "4", connected_clients: "1", uptime_in_seconds: "40" },
    ]);
    expect(merged).toMatchObject({
      valkey_version: "8.0.1",
      redis_mode: "cluster",
      used_memory: "2097152",
      used_memory_human: "2.00M",
      instantaneous_ops_per_sec: "7",
      connected_clients: "3",
      uptime_in_seconds: "40",
    });
    const one = { used_memory: "5", used_memory_human: "5B" };
    expect(mergeInfos([one])).toBe(one);
    expect(humanBytes(512)).toBe("512B");
    expect(humanBytes(1536)).toBe("1.50K");
  });
});
