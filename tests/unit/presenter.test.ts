import { describe, expect, it } from "vitest";
import { PRESETS } from "@/components/simulator-panel";
import {
  DWELL_MS,
  STEP_COUNT,
  STEP_IDS,
  STORY_RUNS,
  STORY_SIMULATOR_RUNS,
  captionFor,
  commandsPerDecision,
  dwellProgress,
  formatWindow,
  initialPresenterState,
  presenterReducer,
  probeRun,
  problemCaption,
  problemFromResponse,
  secondsToAdvance,
  type PresenterState,
  type StepFigures,
} from "@/lib/dashboard/presenter";
import { wantsPresent, withoutPresentParam } from "@/lib/dashboard/present-url";
import type { ActivityEvent, LabResult, SimulateSummary, Stats, ValkeyViews } from "@/lib/schemas";

const summary = (s: Partial<SimulateSummary>): SimulateSummary => ({
  total: 50,
  successful: 10,
  blocked: 40,
  cached: 5,
  failed: 0,
  durationMs: 812,
  ...s,
});

const cache: Stats["cache"] = {
  hits: 300,
  misses: 100,
  total: 400,
  hitRatio: 0.75,
  cachedKeys: 10,
  tokensSaved: 12_345,
  timeSavedMs: 95_000,
  tokensGenerated: 4000,
  costSaved: 0.12345,
  pricePer1kTokens: 0.01,
  ttlSeconds: 3600,
};

const anonymous = { limit: 10, windowMs: 60_000 };

const blockedEvent: ActivityEvent = {
  id: "1700000000000-0",
  requestId: "r1",
  type: "blocked",
  identity: "sim:anonymous:1",
  tier: "anonymous",
  policy: "anonymous",
  coalesced: false,
  door: "generate",
  model: "flowgate-sim-1",
  timestamp: Date.UTC(2025, 0, 1, 12, 0, 5),
  inWindow: 10,
  limit: 10,
  remaining: 0,
  resetAt: Date.UTC(2025, 0, 1, 12, 0, 47),
  cacheKey: "",
  latencyMs: 0,
  tokens: 0,
  savedMs: 0,
};

const commands = (c: Partial<ValkeyViews["commands"]>): ValkeyViews["commands"] => ({
  intervalSeconds: 6,
  usecPerScriptCall: 7.81,
  usecPerDecision: 8.42,
  decisionsPerSec: 180,
  slowCallsExcluded: 0,
  rows: [],
  slowlog: [],
  ...c,
});

const row = (command: string, callsPerSec: number | null): ValkeyViews["commands"]["rows"][number] => ({
  command,
  calls: 1000,
  callsPerSec,
  usecPerCall: 1,
  usecPerCallAllTime: 1,
  p50: null,
  p99: null,
  p999: null,
});

describe("the story's traffic", () => {
  it("runs the simulator's presets as the dashboard defines them, the cache step on a plan with room", () => {
    const preset = (id: string) => PRESETS.find((p) => p.id === id)?.request;
    expect(STORY_RUNS.burst).toEqual(preset("burst"));
    expect(STORY_RUNS.many).toEqual(preset("many"));
    expect(STORY_RUNS.valkey).toEqual(preset("abuse"));
    // "many" leaves anonymous clients 1–20 at their 10-a-minute limit: the warm preset's clients would all be refused.
    expect({ ...STORY_RUNS.cache, tier: "anonymous" }).toEqual(preset("warm"));
    expect(STORY_RUNS.cache.tier).toBe("pro");
  });

  it("probes with one more request than the limit, so one is refused even if the window emptied", () => {
    expect(probeRun(10)).toEqual({ count: 11, concurrency: 1, clients: 1, prompts: 1, tier: "anonymous" });
    expect(probeRun(5000).count).toBe(2000);
  });

  it("fits the default per-caller run limit (20 a minute) several times over", () => {
    expect(STORY_SIMULATOR_RUNS).toBe(Object.keys(STORY_RUNS).length + 1);
    expect(STORY_SIMULATOR_RUNS * 4).toBeLessThanOrEqual(20);
  });
});

describe("captions quote the figures", () => {
  it("a quiet start: the current totals", () => {
    const stats = {
      totals: { requests: 1234, allowed: 1000, blocked: 234, hits: 300, misses: 100, generations: 100, generationMs: 1, doors: { generate: 1234, openai: 0 } },
      cache,
      rateLimit: { totalKeys: 3, topConsumers: [], blockedRequests: 234, requestsPerMinute: 42, blockedPerMinute: 1, anonymousPolicy: anonymous },
      valkey: { server: "valkey", version: "8.1.1", mode: "standalone", usedMemoryBytes: 1, usedMemoryHuman: "1K", opsPerSec: 1, connectedClients: 1, uptimeSeconds: 1, roundTripMs: 1 },
    } satisfies Extract<StepFigures, { id: "quiet" }>["stats"];
    const c = captionFor({ id: "quiet", stats });
    expect(c.figure).toBe("1,234");
    expect(c.text).toContain("valkey 8.1.1");
    expect(c.text).toContain("1,234 requests came through the gateway: 234 refused, 300 answered from the cache");
    expect(c.facts).toContainEqual({ label: "cache hit ratio", value: "75.0%" });
    const empty = captionFor({ id: "quiet", stats: { ...stats, totals: { ...stats.totals, requests: 0 } } });
    expect(empty.text).toContain("Nothing has come through the gateway yet");
  });

  it("the burst: admitted of sent, and the limit", () => {
    const c = captionFor({ id: "burst", run: summary({}), policy: anonymous });
    expect(c.figure).toBe("10 of 50");
    expect(c.text).toBe("One client (sim-1) fired 50 requests at once: 10 of 50 admitted, 40 refused with a 429: the limit is 10 a minute.");
    const again = captionFor({ id: "burst", run: summary({ successful: 0, blocked: 50, cached: 0 }), policy: anonymous });
    expect(again.figure).toBe("0 of 50");
    expect(again.text).toContain("none admitted, 50 refused with a 429. It had already used its window");
    const roomy = captionFor({ id: "burst", run: summary({ successful: 50, blocked: 0 }), policy: { limit: 100, windowMs: 30_000 } });
    expect(roomy.text).toContain("all 50 admitted, the limit is 100 per 30 s");
    expect(captionFor({ id: "burst", run: summary({ failed: 2 }), policy: anonymous }).text).toMatch(/2 requests failed\.$/);
  });

  it("many clients: callers and the top consumers", () => {
    const c = captionFor({
      id: "many",
      run: summary({ total: 200, successful: 190, blocked: 10 }),
      clients: 20,
      callers: 20,
      topConsumers: [
        { identity: "sim:anonymous:1", tier: "anonymous", requests: 60, blocked: 50 },
        { identity: "sim:anonymous:2", tier: "anonymous", requests: 10, blocked: 0 },
      ],
    });
    expect(c.figure).toBe("20");
    expect(c.text).toBe("20 clients sent 200 requests: 190 admitted, 10 refused. The top consumers this minute: sim-1 (60, 50 refused), sim-2 (10).");
    expect(c.facts[0]).toEqual({ label: "sim-1 · 50 refused", value: "60" });
  });

  it("repeated questions: hits of the run, and what the cache saved so far", () => {
    const c = captionFor({ id: "cache", run: summary({ total: 100, successful: 100, blocked: 0, cached: 100 }), prompts: 3, clients: 10, cache });
    expect(c.figure).toBe("12,345");
    expect(c.text).toContain("10 clients asked the same 3 questions 100 times: 100 answered from the cache");
    expect(c.text).toContain("saved 12,345 tokens, 1 min 35 s of model time and $0.123");
  });

  it("why was this blocked: the event's policy, window use and reset", () => {
    const now = blockedEvent.resetAt - 42_000;
    const c = captionFor({ id: "why", run: summary({ total: 11, successful: 0, blocked: 11 }), event: blockedEvent, policy: anonymous, now });
    expect(c.figure).toBe("10 of 10");
    expect(c.text).toContain("sim-1 asked again, 11 times: 11 refused. Why? The “anonymous” policy allows 10 requests a minute, and 10 are still in sim-1's window.");
    expect(c.text).toContain("in 42 s.");
    expect(c.facts).toContainEqual({ label: "policy", value: "anonymous" });
    const none = captionFor({ id: "why", run: summary({ total: 11, successful: 11, blocked: 0 }), event: null, policy: anonymous, now });
    expect(none.text).toContain("No refusal is among the latest decisions");
  });

  it("the lab: the exact limiter against the loosest", () => {
    const algo = (algorithm: LabResult["algorithms"][number]["algorithm"], label: string, max: number) => ({
      algorithm, label, admitted: max, maxInAnyWindow: max, beyondNominal: Math.max(0, max - 10), boundaryBurstAdmitted: max, memoryBytes: 120, keyType: "zset",
    });
    const lab: LabResult = {
      limit: 10, windowMs: 60_000, windows: 3, binMs: 1000, sent: 80, pattern: "", series: [], durationMs: 40,
      algorithms: [algo("sliding-log", "Sliding-window log", 10), algo("sliding-counter", "Sliding-window counter", 11), algo("token-bucket", "Token bucket", 19), algo("fixed-window", "Fixed window", 20)],
    };
    const c = captionFor({ id: "lab", lab });
    expect(c.figure).toBe("20 vs 10");
    expect(c.text).toContain("The sliding-window log never let more than 10 through in any minute;");
    expect(c.text).toContain("the fixed window let 20 through in one, 10 beyond the limit");
    expect(c.facts[0]).toEqual({ label: "Sliding-window log · 120 B a client", value: "10 max" });
  });

  it("what Valkey did: µs per decision, round trips and the commands inside", () => {
    const c = captionFor({
      id: "valkey",
      run: summary({ total: 1000, successful: 0, blocked: 1000, cached: 0 }),
      commands: commands({ rows: [row("evalsha", 180), row("zcount", 180), row("hincrby", 720), row("hgetall", 10)] }),
      mode: "standalone",
    });
    expect(c.figure).toBe("8.4 µs");
    expect(c.text).toContain("1,000 requests from one abusive client, all 1,000 refused, each in one round trip to Valkey.");
    expect(c.text).toContain("Each decision cost Valkey 8.4 µs of server time (180 decisions a second over the last 6 s).");
    expect(c.text).toContain("Inside its one Lua call: HINCRBY ×4, ZCOUNT ×1.");
    expect(c.facts).toContainEqual({ label: "Valkey commands per decision", value: "≈ 5" });
    expect(c.facts).toHaveLength(4);
    const none = captionFor({ id: "valkey", run: summary({}), commands: commands({ usecPerDecision: null }), mode: "cluster" });
    expect(none.figure).toBe("—");
    expect(none.text).toContain("no interval reading yet");
    expect(none.text).toContain("10 admitted, 40 refused, in 55 round trips to Valkey (one per decision, one more per answer stored).");
    expect(none.text).toContain("On this cluster a cached prompt lives on its own slot");
  });
});

describe("helpers", () => {
  it("counts commands per decision, leaving out the script calls themselves and the dashboard's trickle", () => {
    expect(commandsPerDecision(commands({ rows: [row("evalsha", 100), row("zadd", 100), row("get", 5), row("xadd", null)], decisionsPerSec: 100 }))).toEqual([
      { command: "zadd", perDecision: 1 },
    ]);
    expect(commandsPerDecision(commands({ decisionsPerSec: null, rows: [row("zadd", 1)] }))).toEqual([]);
  });

  it("names windows", () => {
    expect(formatWindow(60_000)).toBe("a minute");
    expect(formatWindow(120_000)).toBe("2 minutes");
    expect(formatWindow(30_000)).toBe("30 s");
  });

  it("says plainly why a step could not run", () => {
    const refused = problemFromResponse({ status: 429, code: "rate_limited", error: "sim has started 20 simulator runs in the last minute; try again in 12 s.", retryAfterSeconds: 12 });
    expect(refused).toEqual({ kind: "refused", message: expect.stringContaining("20 simulator runs"), retryAfterSeconds: 12 });
    expect(problemCaption(refused).text).toContain("Try again after that, or continue");
    expect(problemCaption({ ...refused, message: "Busy." }).text).toContain("Try again in 12 seconds, or continue");
    expect(problemFromResponse({ status: 429, code: "simulator_busy" }).kind).toBe("refused");
    expect(problemFromResponse({ status: 503, code: "valkey_unavailable", error: "Valkey is unreachable." }).kind).toBe("valkey-down");
    expect(problemCaption({ kind: "valkey-down", message: "Valkey is unreachable." }).title).toBe("Valkey is not answering");
    expect(problemFromResponse({ status: 500 })).toEqual({ kind: "failed", message: "The gateway answered 500." });
  });

  it("reads and removes ?present", () => {
    expect(wantsPresent("?present")).toBe(true);
    expect(wantsPresent("?present=1&x=2")).toBe(true);
    expect(wantsPresent("?present=0")).toBe(false);
    expect(wantsPresent("?x=1")).toBe(false);
    expect(withoutPresentParam("http://h/?present")).toBe("/");
    expect(withoutPresentParam("http://h/?a=1&present=&b=2#sim")).toBe("/?a=1&b=2#sim");
  });
});

describe("the step machine", () => {
  const t0 = 1_000_000;
  const quiet: StepFigures = { id: "quiet", stats: { totals: { requests: 0, allowed: 0, blocked: 0, hits: 0, misses: 0, generations: 0, generationMs: 0, doors: { generate: 0, openai: 0 } }, cache, rateLimit: { totalKeys: 0, topConsumers: [], blockedRequests: 0, requestsPerMinute: 0, blockedPerMinute: 0, anonymousPolicy: anonymous }, valkey: null } };
  const burst: StepFigures = { id: "burst", run: summary({}), policy: anonymous };
  const load = (s: PresenterState, figures: StepFigures, now: number, index = s.loadIndex) => presenterReducer(s, { type: "loaded", index, figures, now });

  it("starts on the first step, loading it", () => {
    const s = initialPresenterState(t0);
    expect(s).toMatchObject({ index: 0, status: "loading", loadSeq: 1, loadIndex: 0, advanceAt: null });
    expect(STEP_COUNT).toBe(7);
    expect(STEP_IDS[0]).toBe("quiet");
  });

  it("advances by itself DWELL_MS after a step's traffic finished, and starts the next step's", () => {
    let s = load(initialPresenterState(t0), quiet, t0 + 100);
    expect(s).toMatchObject({ status: "ready", advanceAt: t0 + 100 + DWELL_MS });
    expect(secondsToAdvance({ ...s, now: t0 + 100 })).toBe(11);
    s = presenterReducer(s, { type: "tick", now: t0 + 5000 });
    expect(s.index).toBe(0);
    expect(dwellProgress(s)).toBeCloseTo(4900 / DWELL_MS);
    s = presenterReducer(s, { type: "tick", now: t0 + 100 + DWELL_MS });
    expect(s).toMatchObject({ index: 1, status: "loading", loadSeq: 2, loadIndex: 1 });
  });

  it("pauses and resumes with the dwell that was left", () => {
    let s = load(initialPresenterState(t0), quiet, t0);
    s = presenterReducer(s, { type: "toggle-pause", now: t0 + 4000 });
    expect(s).toMatchObject({ paused: true, advanceAt: null, remainingMs: DWELL_MS - 4000 });
    expect(presenterReducer(s, { type: "tick", now: t0 + 60_000 }).index).toBe(0);
    s = presenterReducer(s, { type: "toggle-pause", now: t0 + 60_000 });
    expect(s).toMatchObject({ paused: false, advanceAt: t0 + 60_000 + DWELL_MS - 4000 });
  });

  it("stays paused across steps: a step loaded while paused waits", () => {
    let s = presenterReducer(initialPresenterState(t0), { type: "toggle-pause", now: t0 });
    s = load(s, quiet, t0 + 10);
    expect(s).toMatchObject({ status: "ready", paused: true, advanceAt: null, remainingMs: DWELL_MS });
  });

  it("goes back to stored figures without sending the traffic again", () => {
    let s = load(initialPresenterState(t0), quiet, t0);
    s = presenterReducer(s, { type: "next", now: t0 + 1 });
    s = load(s, burst, t0 + 2);
    const seq = s.loadSeq;
    s = presenterReducer(s, { type: "prev", now: t0 + 3 });
    expect(s).toMatchObject({ index: 0, status: "ready", loadSeq: seq });
    s = presenterReducer(s, { type: "next", now: t0 + 4 });
    expect(s).toMatchObject({ index: 1, status: "ready", loadSeq: seq });
    expect(presenterReducer({ ...s, index: 0 }, { type: "prev", now: t0 }).index).toBe(0);
  });

  it("keeps a step's figures that arrive after it was left, and does not start its traffic twice", () => {
    let s = load(initialPresenterState(t0), quiet, t0);
    s = presenterReducer(s, { type: "next", now: t0 + 1 }); // burst in flight
    s = presenterReducer(s, { type: "prev", now: t0 + 2 });
    s = presenterReducer(s, { type: "next", now: t0 + 3 });
    expect(s).toMatchObject({ index: 1, status: "loading", loadSeq: 2 });
    s = presenterReducer(s, { type: "next", now: t0 + 4 }); // skip ahead to "many"
    s = load(s, burst, t0 + 5, 1);
    expect(s).toMatchObject({ index: 2, status: "loading" });
    expect(s.figures[1]).toBe(burst);
    s = presenterReducer(s, { type: "prev", now: t0 + 6 });
    expect(s).toMatchObject({ index: 1, status: "ready" });
  });

  it("stops on a problem until the presenter retries or continues", () => {
    let s = presenterReducer(initialPresenterState(t0), { type: "failed", index: 0, problem: { kind: "refused", message: "no", retryAfterSeconds: 3 }, now: t0 });
    expect(s).toMatchObject({ status: "problem", advanceAt: null });
    expect(presenterReducer(s, { type: "tick", now: t0 + 10 * DWELL_MS }).index).toBe(0);
    const retried = presenterReducer(s, { type: "retry", now: t0 + 1 });
    expect(retried).toMatchObject({ status: "loading", loadSeq: 2, loadIndex: 0, problem: null });
    s = presenterReducer(s, { type: "next", now: t0 + 1 });
    expect(s).toMatchObject({ index: 1, status: "loading", problem: null });
  });

  it("does not advance past the last step", () => {
    let s: PresenterState = { ...initialPresenterState(t0), index: STEP_COUNT - 2 };
    s = presenterReducer(s, { type: "next", now: t0 });
    s = load(s, burst, t0);
    expect(s).toMatchObject({ index: STEP_COUNT - 1, status: "ready", advanceAt: null });
    expect(dwellProgress(s)).toBeNull();
    expect(presenterReducer(s, { type: "next", now: t0 + 1 }).index).toBe(STEP_COUNT - 1);
  });
});
