import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_MODEL, planGeneration } from "@/lib/gateway/model";
import { policyFor } from "@/lib/gateway/policy";
import { hashPrompt } from "@/lib/gateway/prompt-cache";
import { decideRequest } from "@/lib/gateway/rate-limit";
import { encodeCachedEntry, type CachedEntry } from "@/lib/gateway/store";
import { numericHash, toTimeBucket, toTotals } from "@/lib/stats/snapshot";
import { createValkeyClient } from "@/lib/valkey/client";
import { bucketStart, createKeySpace, minuteOf } from "@/lib/valkey/keys";

/**
 * decide.lua reads a hit's numbers (created, latency, tokens) from the start
 * of the cached JSON when store.ts wrote it (encodeCachedEntry), and decodes
 * the whole entry otherwise: both must count the same, and max-age must judge
 * both alike. Its per-bucket and per-minute keys get their expiry once, from
 * the start of their span.
 */

const client = createValkeyClient(inject("valkeyUrl"), { connectTimeoutMs: 5000, commandTimeoutMs: 10_000, logErrors: false });
beforeAll(async () => {
  if (client.status !== "ready") await new Promise<void>((resolve) => client.once("ready", () => resolve()));
});
afterAll(() => client.disconnect());

const policy = policyFor("anonymous", { limit: 1000, windowMs: 60_000 });

function entry(prompt: string, createdAt: number): CachedEntry {
  return { ...planGeneration(prompt, DEFAULT_MODEL, 600), createdAt };
}

async function hitOnce(prefix: string, prompt: string, json: string, now: number, maxAgeMs = 0) {
  const keys = createKeySpace(prefix);
  const promptHash = hashPrompt(prompt, DEFAULT_MODEL);
  await client.set(keys.cache(promptHash), json, "EX", 600);
  const decision = await decideRequest({
    client, keys, shards: 1, identity: { id: "ip:198.18.7.1", kind: "ip", tier: "anonymous" }, policy,
    requestId: randomUUID(), promptHash, promptTokens: 5, streamCap: 100, lockTtlMs: 0, now, maxAgeMs,
  });
  const totals = toTotals(numericHash(await client.hgetall(keys.totals(0))));
  return { decision, totals };
}

describe("decide.lua on a hit", () => {
  it("counts the same savings from an entry in store.ts's order and from one in any other order", async () => {
    const now = Date.now();
    const e = entry("hit numbers: which order?", now - 1000);
    const encoded = encodeCachedEntry(e);
    expect(encoded.startsWith(`{"createdAt":${e.createdAt},"latencyMs":${e.latencyMs},"usage":{"totalTokens":${e.usage.totalTokens},`)).toBe(true);
    expect(JSON.parse(encoded)).toEqual(JSON.parse(JSON.stringify(e)));

    const fast = await hitOnce(`t${randomBytes(4).toString("hex")}:`, "hit numbers: which order?", encoded, now);
    const slow = await hitOnce(`t${randomBytes(4).toString("hex")}:`, "hit numbers: which order?", JSON.stringify(e), now);
    for (const { decision, totals } of [fast, slow]) {
      expect(decision.allowed).toBe(true);
      expect(decision.cached).not.toBeNull();
      expect(totals).toMatchObject({ requests: 1, allowed: 1, hits: 1, tokens_saved: e.usage.totalTokens, time_saved_ms: e.latencyMs });
    }
  });

  it("judges max-age alike in both shapes", async () => {
    const now = Date.now();
    const e = entry("hit numbers: too old?", now - 10_000);
    for (const json of [encodeCachedEntry(e), JSON.stringify(e)]) {
      const { decision, totals } = await hitOnce(`t${randomBytes(4).toString("hex")}:`, "hit numbers: too old?", json, now, 5_000);
      expect(decision.cached).toBeNull();
      expect(totals).toMatchObject({ requests: 1, misses: 1 });
      expect(totals.hits ?? 0).toBe(0);
    }
  });

  it("gives per-bucket and per-minute keys their expiry from the start of their span, once", async () => {
    const prefix = `t${randomBytes(4).toString("hex")}:`;
    const keys = createKeySpace(prefix);
    const now = Date.now();
    const e = entry("hit numbers: expiry", now);
    await hitOnce(prefix, "hit numbers: expiry", encodeCachedEntry(e), now);
    const bucketAt = await client.pexpiretime(keys.bucket(0, bucketStart(now)));
    const topAt = await client.pexpiretime(keys.top(0, minuteOf(now)));
    const callersAt = await client.pexpiretime(keys.activeCallers(0, bucketStart(now)));
    // Relative to now on the server: within a few ms of span start + TTL (610 s, 120 s, 120 s).
    const slack = Date.now() - now + 50;
    expect(Math.abs(bucketAt - (bucketStart(now) + 610_000))).toBeLessThanOrEqual(slack);
    expect(Math.abs(topAt - (minuteOf(now) * 60_000 + 120_000))).toBeLessThanOrEqual(slack);
    expect(Math.abs(callersAt - (bucketStart(now) + 120_000))).toBeLessThanOrEqual(slack);
    const bucket = toTimeBucket(0, numericHash(await client.hgetall(keys.bucket(0, bucketStart(now)))));
    expect(bucket).toMatchObject({ requests: 1, allowed: 1, hits: 1, doors: { generate: 1, openai: 0 } });
  });
});
