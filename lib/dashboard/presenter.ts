import { formatClock, formatCost, formatCount, formatIdentity, formatIn, formatMs, formatPercent, ratio } from "@/lib/dashboard/format";
import type {
  ActivityEvent,
  LabResult,
  SimulateRequest,
  SimulateSummary,
  Stats,
  TopConsumer,
  ValkeyViews,
} from "@/lib/schemas";
import type { Algorithm } from "@/lib/tiers";

/**
 * Presenter mode's pure half: the story's steps, the traffic each one sends,
 * the caption each one says about the figures its traffic brought back, and
 * the step machine (next, back, pause, auto-advance). No I/O and no React, so
 * unit tests pin every sentence (components/presenter-traffic.ts does the
 * fetching, components/presenter-overlay.tsx the showing).
 */

// ---- The story ------------------------------------------------------------

export const STEP_IDS = ["quiet", "burst", "many", "cache", "why", "lab", "valkey"] as const;
export type StepId = (typeof STEP_IDS)[number];

export const STEP_TITLES: Record<StepId, string> = {
  quiet: "A quiet start",
  burst: "One client's burst",
  many: "Many clients",
  cache: "Repeated questions",
  why: "Why was this blocked?",
  lab: "Four limiters, one burst",
  valkey: "What Valkey did",
};

/** What the step is doing while its traffic is in flight: the caption before the figures arrive. */
export const STEP_LOADING: Record<StepId, string> = {
  quiet: "Reading the dashboard's numbers from Valkey…",
  burst: "One client fires 50 requests at once through the gateway…",
  many: "20 clients send 10 requests each…",
  cache: "10 clients ask the same 3 questions, 100 times in all…",
  why: "The burst's client tries again…",
  lab: "Sending one burst pattern through all four limiters…",
  valkey: "Waiting for a clean interval of Valkey's counters, then 1,000 requests from one abusive client…",
};

type RunRequest = Required<Pick<SimulateRequest, "count" | "concurrency" | "clients" | "prompts" | "tier">>;

/**
 * The simulator runs of the story: the presets of components/simulator-panel.tsx
 * (a unit test keeps them equal), in order. One change: the cache step's
 * clients are on the pro plan. The simulator names clients `sim:<plan>:<n>`,
 * and the story runs within one minute, so the preset's anonymous clients
 * 1–10 would still be at their 10-a-minute limit from the "many" step and
 * every request would be refused, never reaching the cache.
 */
export const STORY_RUNS = {
  burst: { count: 50, concurrency: 10, clients: 1, prompts: 5, tier: "anonymous" },
  many: { count: 200, concurrency: 20, clients: 20, prompts: 10, tier: "anonymous" },
  cache: { count: 100, concurrency: 5, clients: 10, prompts: 3, tier: "pro" },
  valkey: { count: 1000, concurrency: 50, clients: 1, prompts: 1, tier: "anonymous" },
} as const satisfies Record<string, RunRequest>;

/**
 * The "why" step asks again as the burst's client (sim:anonymous:1): one more
 * than its limit, one at a time, so at least one is refused even when its
 * window has emptied since the burst (a long pause).
 */
export function probeRun(limit: number): RunRequest {
  return { count: Math.min(2000, Math.max(1, limit + 1)), concurrency: 1, clients: 1, prompts: 1, tier: "anonymous" };
}

/** The burst's client, as the simulator names it. */
export const BURST_CLIENT = "sim:anonymous:1";

/**
 * Simulator runs one story starts (burst, many, cache, why, valkey). The
 * server allows SIMULATE_RUNS_PER_MINUTE per caller (default 20): four
 * stories a minute. More, and a step's run is refused with a 429, which the
 * step says plainly (problemCaption) with a way to retry or go on.
 */
export const STORY_SIMULATOR_RUNS = 5;

// ---- Figures: what each step read back -----------------------------------

export interface Policy {
  limit: number;
  windowMs: number;
}

export type StepFigures =
  | { id: "quiet"; stats: Pick<Stats, "totals" | "cache" | "rateLimit" | "valkey"> }
  | { id: "burst"; run: SimulateSummary; policy: Policy }
  | { id: "many"; run: SimulateSummary; clients: number; callers: number; topConsumers: TopConsumer[] }
  | { id: "cache"; run: SimulateSummary; prompts: number; clients: number; cache: Stats["cache"] }
  | { id: "why"; run: SimulateSummary; event: ActivityEvent | null; policy: Policy; now: number }
  | { id: "lab"; lab: LabResult }
  | { id: "valkey"; run: SimulateSummary; commands: ValkeyViews["commands"]; mode: string };

export interface Fact {
  label: string;
  value: string;
}

export interface Caption {
  /** The one live number that matters here, shown huge ("10 of 50"). */
  figure: string;
  /** What the figure counts ("admitted"). */
  figureLabel: string;
  /** The sentence, quoting the figures. */
  text: string;
  /** Smaller figures beside it. */
  facts: Fact[];
}

/** 60 000 → "a minute", 30 000 → "30 s", 3 600 000 → "an hour". */
export function formatWindow(ms: number): string {
  if (ms === 60_000) return "a minute";
  if (ms === 3_600_000) return "an hour";
  if (ms === 1000) return "a second";
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  return `${formatCount(ms / 1000)} s`;
}

/** "a minute", "per 30 s": a limit's rate. */
function windowRate(ms: number): string {
  return ms === 60_000 || ms === 3_600_000 || ms === 1000 ? formatWindow(ms) : `per ${formatWindow(ms)}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** "10 of 50": admitted (answered, by the model or the cache) out of sent. */
export function admittedOf(run: SimulateSummary): string {
  return `${formatCount(run.successful)} of ${formatCount(run.total)}`;
}

function failedClause(run: SimulateSummary): string {
  return run.failed > 0 ? ` ${plural(run.failed, "request")} failed.` : "";
}

const COMMAND_SKIP = new Set(["evalsha", "eval", "evalsha_ro", "eval_ro", "info", "slowlog", "xinfo", "memory", "config", "client", "ping"]);

/** Commands run inside each decision over the interval: calls per second ÷ decisions per second, the busiest first. */
export function commandsPerDecision(commands: ValkeyViews["commands"], n = 4): { command: string; perDecision: number }[] {
  const rate = commands.decisionsPerSec;
  if (!rate || rate <= 0) return [];
  return commands.rows
    .filter((row) => !COMMAND_SKIP.has(row.command) && row.callsPerSec !== null)
    .map((row) => ({ command: row.command, perDecision: (row.callsPerSec ?? 0) / rate }))
    // Below a fifth of a call per decision it is more likely the dashboard's own reads than the gateway's.
    .filter((row) => row.perDecision >= 0.2)
    .sort((a, b) => b.perDecision - a.perDecision)
    .slice(0, n);
}

/** 7 → "7", 1.5 → "1.5": calls per decision. */
function formatTimes(n: number): string {
  return n.toFixed(1).replace(/\.0$/, "");
}

function formatUsec(usec: number): string {
  return `${usec < 10 ? usec.toFixed(1) : formatCount(Math.round(usec))} µs`;
}

function describeConsumer(c: TopConsumer): string {
  const name = formatIdentity(c.identity);
  return c.blocked > 0 ? `${name} (${formatCount(c.requests)}, ${formatCount(c.blocked)} refused)` : `${name} (${formatCount(c.requests)})`;
}

const ALGORITHM_SHORT: Record<Algorithm, string> = {
  "sliding-log": "sliding log",
  "sliding-counter": "sliding counter",
  "token-bucket": "token bucket",
  "fixed-window": "fixed window",
};

/** The caption of a step whose figures arrived. */
export function captionFor(figures: StepFigures): Caption {
  switch (figures.id) {
    case "quiet": {
      const { totals, cache, rateLimit, valkey } = figures.stats;
      const server = valkey ? `${valkey.server} ${valkey.version}` : "Valkey";
      const text =
        totals.requests === 0
          ? `This is Flowgate's live dashboard, read from ${server}. Nothing has come through the gateway yet: what follows is real traffic, through the real gateway path.`
          : `This is Flowgate's live dashboard, read from ${server}. So far ${plural(totals.requests, "request")} came through the gateway: ${formatCount(totals.blocked)} refused, ${formatCount(totals.hits)} answered from the cache. What follows is real traffic on top of them.`;
      return {
        figure: formatCount(totals.requests),
        figureLabel: totals.requests === 1 ? "request so far" : "requests so far",
        text,
        facts: [
          { label: "refused (429)", value: formatCount(totals.blocked) },
          { label: "cache hit ratio", value: formatPercent(ratio(cache.hits, cache.hits + cache.misses)) },
          { label: "callers this minute", value: formatCount(rateLimit.totalKeys) },
          { label: "requests per minute", value: formatCount(rateLimit.requestsPerMinute) },
        ],
      };
    }
    case "burst": {
      const { run, policy } = figures;
      const client = formatIdentity(BURST_CLIENT);
      const limit = `the limit is ${formatCount(policy.limit)} ${policy.windowMs === 60_000 ? "a minute" : `per ${formatWindow(policy.windowMs)}`}`;
      let text: string;
      if (run.blocked === 0) {
        text = `One client (${client}) fired ${formatCount(run.total)} requests at once: all ${formatCount(run.successful)} admitted, ${limit}.`;
      } else if (run.successful === 0) {
        text = `One client (${client}) fired ${formatCount(run.total)} requests at once: none admitted, ${formatCount(run.blocked)} refused with a 429. It had already used its window: ${limit}.`;
      } else {
        text = `One client (${client}) fired ${formatCount(run.total)} requests at once: ${admittedOf(run)} admitted, ${formatCount(run.blocked)} refused with a 429: ${limit}.`;
      }
      return {
        figure: admittedOf(run),
        figureLabel: "admitted",
        text: text + failedClause(run),
        facts: [
          { label: "refused (429)", value: formatCount(run.blocked) },
          { label: "from the cache", value: formatCount(run.cached) },
          { label: "limit", value: policy.windowMs === 60_000 ? `${formatCount(policy.limit)} a minute` : `${formatCount(policy.limit)} per ${formatWindow(policy.windowMs)}` },
          { label: "whole burst took", value: formatMs(run.durationMs) },
        ],
      };
    }
    case "many": {
      const { run, clients, callers, topConsumers } = figures;
      const top = topConsumers.slice(0, 3);
      const topText = top.length > 0 ? ` The top consumers this minute: ${top.map(describeConsumer).join(", ")}.` : "";
      const refused = run.blocked > 0 ? `${formatCount(run.blocked)} refused` : "none refused";
      return {
        figure: formatCount(callers),
        figureLabel: "callers in the last minute",
        text: `${formatCount(clients)} clients sent ${formatCount(run.total)} requests: ${formatCount(run.successful)} admitted, ${refused}.${topText}${failedClause(run)}`,
        facts: topConsumers.slice(0, 4).map((c) => ({
          label: c.blocked > 0 ? `${formatIdentity(c.identity)} · ${formatCount(c.blocked)} refused` : formatIdentity(c.identity),
          value: formatCount(c.requests),
        })),
      };
    }
    case "cache": {
      const { run, prompts, clients, cache } = figures;
      return {
        figure: formatCount(cache.tokensSaved),
        figureLabel: "tokens saved by the cache",
        text: `${formatCount(clients)} clients asked the same ${formatCount(prompts)} questions ${formatCount(run.total)} times: ${formatCount(run.cached)} answered from the cache, without the model. So far the cache has saved ${plural(cache.tokensSaved, "token")}, ${formatMs(cache.timeSavedMs)} of model time and ${formatCost(cache.costSaved)}.${failedClause(run)}`,
        facts: [
          { label: "from the cache, this run", value: `${formatCount(run.cached)} of ${formatCount(run.total)}` },
          { label: "model time saved", value: formatMs(cache.timeSavedMs) },
          { label: "money saved", value: formatCost(cache.costSaved) },
          { label: "hit ratio", value: formatPercent(cache.hitRatio) },
        ],
      };
    }
    case "why": {
      const { run, event, policy, now } = figures;
      const asked = `${formatIdentity(BURST_CLIENT)} asked again, ${plural(run.total, "time")}: ${formatCount(run.blocked)} refused.`;
      if (!event) {
        return {
          figure: `${formatCount(run.blocked)} refused`,
          figureLabel: "of the retries",
          text: `${asked} No refusal is among the latest decisions to explain.`,
          facts: [],
        };
      }
      const who = formatIdentity(event.identity);
      const anonymous = event.policy === "anonymous";
      return {
        figure: `${formatCount(event.inWindow)} of ${formatCount(event.limit)}`,
        figureLabel: "requests already in the window",
        text: `${asked} Why? The “${event.policy}” policy allows ${plural(event.limit, "request")} ${anonymous ? windowRate(policy.windowMs) : "per window"}, and ${formatCount(event.inWindow)} are still in ${who}'s window. A slot frees up at ${formatClock(event.resetAt)}, ${formatIn(event.resetAt, now)}.`,
        facts: [
          { label: "policy", value: event.policy },
          { label: "in the window", value: `${formatCount(event.inWindow)} / ${formatCount(event.limit)}` },
          { label: "frees up at", value: formatClock(event.resetAt) },
          { label: "refused at", value: formatClock(event.timestamp) },
        ],
      };
    }
    case "lab": {
      const { lab } = figures;
      const exact = lab.algorithms.find((a) => a.algorithm === "sliding-log");
      const loosest = [...lab.algorithms].sort((a, b) => b.maxInAnyWindow - a.maxInAnyWindow)[0];
      const exactText = exact ? `The sliding-window log never let more than ${formatCount(exact.maxInAnyWindow)} through in any ${lab.windowMs === 60_000 ? "minute" : formatWindow(lab.windowMs)}` : "";
      const loosestText =
        loosest && exact && loosest.maxInAnyWindow > exact.maxInAnyWindow
          ? `; the ${ALGORITHM_SHORT[loosest.algorithm]} let ${formatCount(loosest.maxInAnyWindow)} through in one, ${formatCount(loosest.beyondNominal)} beyond the limit, when bursts straddle a window boundary.`
          : ".";
      return {
        figure: loosest ? `${formatCount(loosest.maxInAnyWindow)} vs ${formatCount(lab.limit)}` : "—",
        figureLabel: loosest ? `most in any window (${ALGORITHM_SHORT[loosest.algorithm]}) vs the limit` : "no results",
        text: `The same ${formatCount(lab.sent)} requests, limit ${formatCount(lab.limit)} per window, through all four limiters on Valkey. ${exactText}${loosestText}`,
        facts: lab.algorithms.map((a) => ({
          label: `${a.label} · ${formatCount(a.memoryBytes)} B a client`,
          value: `${formatCount(a.maxInAnyWindow)} max`,
        })),
      };
    }
    case "valkey": {
      const { run, commands, mode } = figures;
      const misses = Math.max(0, run.successful - run.cached);
      // Blocked or hit: one round trip (decide.lua); a miss: a second one (store.lua). A cluster's cache costs one call more.
      const roundTrips = run.total - run.failed + misses;
      const all = commandsPerDecision(commands, 100);
      const inside = all.slice(0, 4);
      const perDecision = all.reduce((sum, c) => sum + c.perDecision, 0);
      const outcome =
        run.successful === 0 ? `all ${formatCount(run.blocked)} refused` : `${formatCount(run.successful)} admitted, ${formatCount(run.blocked)} refused`;
      const trips = misses > 0 ? `in ${plural(roundTrips, "round trip")} to Valkey (one per decision, one more per answer stored)` : "each in one round trip to Valkey";
      const cost =
        commands.usecPerDecision === null
          ? " Valkey has no interval reading yet for the time it took."
          : ` Each decision cost Valkey ${formatUsec(commands.usecPerDecision)} of server time (${formatCount(commands.decisionsPerSec ?? 0)} decisions a second over the last ${formatCount(commands.intervalSeconds ?? 0)} s).`;
      const insideText = inside.length > 0 ? ` Inside its one Lua call: ${inside.map((c) => `${c.command.toUpperCase()} ×${formatTimes(c.perDecision)}`).join(", ")}.` : "";
      return {
        figure: commands.usecPerDecision === null ? "—" : formatUsec(commands.usecPerDecision),
        figureLabel: "of Valkey time per decision",
        text: `${formatCount(run.total)} requests from one abusive client, ${outcome}, ${trips}.${cost}${insideText}${mode === "cluster" ? " On this cluster a cached prompt lives on its own slot: one call more." : ""}`,
        facts: [
          { label: "decisions a second", value: commands.decisionsPerSec === null ? "—" : formatCount(commands.decisionsPerSec) },
          { label: "round trips", value: formatCount(roundTrips) },
          { label: "Valkey commands per decision", value: all.length > 0 ? `≈ ${formatCount(Math.round(perDecision))}` : "—" },
          { label: "per script call", value: commands.usecPerScriptCall === null ? "—" : formatUsec(commands.usecPerScriptCall) },
        ],
      };
    }
  }
}

// ---- When a step cannot show its figures ---------------------------------

export type StepProblem =
  /** The per-caller simulator run limit (SIMULATE_RUNS_PER_MINUTE) or the runs-at-once cap refused the run. */
  | { kind: "refused"; message: string; retryAfterSeconds: number | null }
  | { kind: "valkey-down"; message: string }
  | { kind: "failed"; message: string };

/** An HTTP error answer of a step's request → what the step says. */
export function problemFromResponse(input: { status: number; code?: string; error?: string; retryAfterSeconds?: number }): StepProblem {
  const message = input.error ?? `The gateway answered ${input.status}.`;
  if (input.status === 429 || input.code === "rate_limited" || input.code === "simulator_busy") {
    return { kind: "refused", message, retryAfterSeconds: input.retryAfterSeconds ?? null };
  }
  if (input.code === "valkey_unavailable" || input.status === 503) return { kind: "valkey-down", message };
  return { kind: "failed", message };
}

export function problemCaption(problem: StepProblem): { title: string; text: string } {
  switch (problem.kind) {
    case "refused":
      return {
        title: "The gateway refused this step's run",
        text: `${problem.message} The story starts ${STORY_SIMULATOR_RUNS} simulator runs, and the gateway counts each caller's runs. ${
          /try again/i.test(problem.message)
            ? "Try again after that"
            : problem.retryAfterSeconds !== null
              ? `Try again in ${plural(problem.retryAfterSeconds, "second")}`
              : "Try again in a moment"
        }, or continue without this step's figures.`,
      };
    case "valkey-down":
      return {
        title: "Valkey is not answering",
        text: `${problem.message} The gateway follows its FAIL_MODE meanwhile, but there are no live figures to show. Try again once Valkey is back, or continue.`,
      };
    case "failed":
      return { title: "This step could not run", text: `${problem.message} Try again, or continue with the next step.` };
  }
}

// ---- The step machine -----------------------------------------------------

/** Time a step's caption stays after its traffic finished, before the next step, ms. */
export const DWELL_MS = 11_000;

export interface PresenterState {
  index: number;
  status: "loading" | "ready" | "problem";
  paused: boolean;
  /** Unix ms at which the step advances by itself; null while paused, loading, on a problem or on the last step. */
  advanceAt: number | null;
  /** Dwell left when paused, ms. */
  remainingMs: number;
  /** Figures of each step already loaded: going back shows them again instead of sending the traffic twice. */
  figures: (StepFigures | undefined)[];
  problem: StepProblem | null;
  /** Steps whose traffic is in flight. */
  inFlight: boolean[];
  /** Bumped each time a step's traffic must start: the overlay starts loadIndex when it changes. */
  loadSeq: number;
  loadIndex: number;
  /** Unix ms of the last event that carried a time. */
  now: number;
}

export type PresenterEvent =
  | { type: "next"; now: number }
  | { type: "prev"; now: number }
  | { type: "toggle-pause"; now: number }
  | { type: "tick"; now: number }
  | { type: "retry"; now: number }
  | { type: "loaded"; index: number; figures: StepFigures; now: number }
  | { type: "failed"; index: number; problem: StepProblem; now: number };

export const STEP_COUNT = STEP_IDS.length;

function isLast(index: number): boolean {
  return index >= STEP_COUNT - 1;
}

function dwell(state: PresenterState, now: number): Pick<PresenterState, "advanceAt" | "remainingMs"> {
  return { remainingMs: DWELL_MS, advanceAt: state.paused || isLast(state.index) ? null : now + DWELL_MS };
}

function startLoad(state: PresenterState, index: number): PresenterState {
  const inFlight = [...state.inFlight];
  inFlight[index] = true;
  return { ...state, status: "loading", problem: null, advanceAt: null, inFlight, loadSeq: state.loadSeq + 1, loadIndex: index };
}

/** Shows step `index`: its stored figures, its traffic still in flight, or starts it. */
function enter(state: PresenterState, index: number, now: number): PresenterState {
  const at = { ...state, index, now, problem: null };
  if (at.figures[index]) return { ...at, status: "ready", ...dwell(at, now) };
  if (at.inFlight[index]) return { ...at, status: "loading", advanceAt: null };
  return startLoad(at, index);
}

export function initialPresenterState(now: number): PresenterState {
  const blank: PresenterState = {
    index: 0,
    status: "loading",
    paused: false,
    advanceAt: null,
    remainingMs: DWELL_MS,
    figures: STEP_IDS.map(() => undefined),
    problem: null,
    inFlight: STEP_IDS.map(() => false),
    loadSeq: 0,
    loadIndex: 0,
    now,
  };
  return startLoad(blank, 0);
}

export function presenterReducer(state: PresenterState, event: PresenterEvent): PresenterState {
  switch (event.type) {
    case "next":
      return isLast(state.index) ? { ...state, now: event.now } : enter(state, state.index + 1, event.now);
    case "prev":
      return state.index === 0 ? { ...state, now: event.now } : enter(state, state.index - 1, event.now);
    case "toggle-pause": {
      const paused = !state.paused;
      if (paused) {
        const remainingMs = state.advanceAt === null ? state.remainingMs : Math.max(0, state.advanceAt - event.now);
        return { ...state, paused, advanceAt: null, remainingMs, now: event.now };
      }
      const advanceAt = state.status === "ready" && !isLast(state.index) ? event.now + state.remainingMs : null;
      return { ...state, paused, advanceAt, now: event.now };
    }
    case "tick":
      if (state.advanceAt !== null && event.now >= state.advanceAt) return enter(state, state.index + 1, event.now);
      return { ...state, now: event.now };
    case "retry":
      return state.status === "problem" ? startLoad({ ...state, now: event.now }, state.index) : state;
    case "loaded": {
      const figures = [...state.figures];
      figures[event.index] = event.figures;
      const inFlight = [...state.inFlight];
      inFlight[event.index] = false;
      const next = { ...state, figures, inFlight, now: event.now };
      // Traffic of a step left before it finished: kept for when the presenter comes back.
      if (event.index !== state.index || state.status !== "loading") return next;
      return { ...next, status: "ready", ...dwell(next, event.now) };
    }
    case "failed": {
      const inFlight = [...state.inFlight];
      inFlight[event.index] = false;
      const next = { ...state, inFlight, now: event.now };
      if (event.index !== state.index || state.status !== "loading") return next;
      // No auto-advance past a problem: the presenter chooses to retry or continue.
      return { ...next, status: "problem", problem: event.problem, advanceAt: null };
    }
  }
}

/** 0..1 of the dwell elapsed, for the countdown bar; null when nothing will advance by itself. */
export function dwellProgress(state: PresenterState): number | null {
  if (state.status !== "ready" || isLast(state.index)) return null;
  const left = state.advanceAt === null ? state.remainingMs : Math.max(0, state.advanceAt - state.now);
  return Math.min(1, Math.max(0, 1 - left / DWELL_MS));
}

/** Seconds until the next step comes by itself; null when it will not. */
export function secondsToAdvance(state: PresenterState): number | null {
  if (state.status !== "ready" || state.paused || state.advanceAt === null) return null;
  return Math.max(0, Math.ceil((state.advanceAt - state.now) / 1000));
}
