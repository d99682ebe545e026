import {
  BURST_CLIENT,
  STORY_RUNS,
  probeRun,
  problemFromResponse,
  type StepFigures,
  type StepId,
  type StepProblem,
} from "@/lib/dashboard/presenter";
import { simulateLines } from "@/lib/dashboard/simulate-stream";
import {
  LAB_BOUNDS,
  errorBodySchema,
  labResultSchema,
  statsSchema,
  valkeyViewsSchema,
  type SimulateRequestInput,
  type SimulateSummary,
  type Stats,
  type ValkeyViews,
} from "@/lib/schemas";

/**
 * Presenter mode's I/O, in the browser: each step's real traffic through the
 * gateway (POST /api/simulate, POST /api/lab) and the figures read back
 * (GET /api/stats, GET /api/valkey). Nothing is canned: every number a
 * caption quotes comes from one of these answers.
 */

export class StepProblemError extends Error {
  constructor(readonly problem: StepProblem) {
    super(problem.message);
    this.name = "StepProblemError";
  }
}

/** Progress of a step's run, for the overlay's bar: requests settled of total. */
export type OnProgress = (done: number, total: number) => void;

async function problemOf(res: Response): Promise<StepProblem> {
  const body = errorBodySchema.safeParse(await res.json().catch(() => null));
  const data = body.success ? body.data : null;
  const retry = data && typeof data.retryAfterSeconds === "number" ? data.retryAfterSeconds : undefined;
  return problemFromResponse({ status: res.status, code: data?.code, error: data?.error, retryAfterSeconds: retry });
}

async function getJson<T>(input: { url: string; parse: (v: unknown) => T; signal: AbortSignal; init?: RequestInit }): Promise<T> {
  let res: Response;
  try {
    res = await fetch(input.url, { cache: "no-store", signal: input.signal, ...input.init });
  } catch (error) {
    if (input.signal.aborted) throw error;
    throw new StepProblemError({ kind: "failed", message: "The dashboard cannot reach the gateway." });
  }
  if (!res.ok) throw new StepProblemError(await problemOf(res));
  return input.parse(await res.json());
}

export async function readStats(input: { signal: AbortSignal }): Promise<Stats> {
  const stats = await getJson({ url: "/api/stats", parse: (v) => statsSchema.parse(v), signal: input.signal });
  if (!stats.connected) throw new StepProblemError({ kind: "valkey-down", message: stats.error ?? "Valkey did not answer." });
  return stats;
}

export async function readValkeyViews(input: { signal: AbortSignal }): Promise<ValkeyViews> {
  const views = await getJson({ url: "/api/valkey", parse: (v) => valkeyViewsSchema.parse(v), signal: input.signal });
  if (!views.connected) throw new StepProblemError({ kind: "valkey-down", message: views.error ?? "Valkey did not answer." });
  return views;
}

/** One simulator run, read as its NDJSON progress stream; resolves with the run's summary. */
export async function runSimulator(input: { request: SimulateRequestInput; signal: AbortSignal; onProgress?: OnProgress }): Promise<SimulateSummary> {
  let res: Response;
  try {
    res = await fetch("/api/simulate", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify(input.request),
      signal: input.signal,
    });
  } catch (error) {
    if (input.signal.aborted) throw error;
    throw new StepProblemError({ kind: "failed", message: "The dashboard cannot reach the gateway." });
  }
  if (!res.ok || !res.body) throw new StepProblemError(await problemOf(res));
  let firstError: string | null = null;
  for await (const msg of simulateLines(res.body)) {
    if (msg.type === "progress") {
      firstError ??= msg.result.error ?? null;
      input.onProgress?.(msg.done, msg.total);
    } else if (msg.type === "error") {
      throw new StepProblemError({ kind: "failed", message: msg.error });
    } else if (msg.type === "done") {
      const s = msg.summary;
      // Every request failed: the gateway could not decide at all (Valkey down under FAIL_MODE=closed).
      if (s.total > 0 && s.failed === s.total) {
        throw new StepProblemError({
          kind: /valkey/i.test(firstError ?? "") ? "valkey-down" : "failed",
          message: `All ${s.total} requests failed${firstError ? `: ${firstError}` : ""}.`,
        });
      }
      return s;
    }
  }
  throw new StepProblemError({ kind: "failed", message: "The run ended before its summary arrived." });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** /api/valkey's interval figures need an earlier reading at least this old (lib/stats/valkey-views.ts MIN_SPAN_MS), ms. */
const VIEWS_MIN_SPAN_MS = 5000;

/**
 * Step 7 reads /api/valkey's "over the interval" figures, which compare with
 * the newest command sample at least 5 s old (one sample per 10 s interval,
 * written by whoever polls first). The lab just ran hundreds of script calls
 * that are no decisions; so wait for the next interval, read once (its
 * sample, written after the lab), send the run, and read again once that
 * sample is old enough: the interval then holds this run's decisions only.
 */
async function measureValkey(input: { signal: AbortSignal; onProgress?: OnProgress }): Promise<StepFigures> {
  const { signal } = input;
  const before = await readValkeyViews({ signal });
  const serverNow = Date.parse(before.timestamp);
  const period = before.memory.sampleIntervalMs;
  await sleep(Math.ceil(serverNow / period) * period - serverNow + 250, signal);
  await readValkeyViews({ signal });
  const sampledAt = performance.now();
  const run = await runSimulator({ request: STORY_RUNS.valkey, signal, onProgress: input.onProgress });
  const wait = VIEWS_MIN_SPAN_MS + 500 - (performance.now() - sampledAt);
  if (wait > 0) await sleep(wait, signal);
  const [views, stats] = await Promise.all([readValkeyViews({ signal }), readStats({ signal })]);
  return { id: "valkey", run, commands: views.commands, mode: stats.valkey?.mode ?? "standalone" };
}

/** The newest refusal in the feed, the burst client's first. */
function newestBlocked(stats: Stats): Stats["activity"][number] | null {
  const blocked = stats.activity.filter((e) => e.type === "blocked").sort((a, b) => b.timestamp - a.timestamp);
  return blocked.find((e) => e.identity === BURST_CLIENT) ?? blocked[0] ?? null;
}

/** Sends step `id`'s traffic and reads back the figures its caption quotes. */
export async function loadStep(input: { id: StepId; signal: AbortSignal; onProgress?: OnProgress }): Promise<StepFigures> {
  const { signal, onProgress } = input;
  switch (input.id) {
    case "quiet": {
      const stats = await readStats({ signal });
      return { id: "quiet", stats };
    }
    case "burst": {
      const run = await runSimulator({ request: STORY_RUNS.burst, signal, onProgress });
      const stats = await readStats({ signal });
      return { id: "burst", run, policy: stats.rateLimit.anonymousPolicy };
    }
    case "many": {
      const run = await runSimulator({ request: STORY_RUNS.many, signal, onProgress });
      const stats = await readStats({ signal });
      return { id: "many", run, clients: STORY_RUNS.many.clients, callers: stats.rateLimit.totalKeys, topConsumers: stats.rateLimit.topConsumers };
    }
    case "cache": {
      const run = await runSimulator({ request: STORY_RUNS.cache, signal, onProgress });
      const stats = await readStats({ signal });
      return { id: "cache", run, prompts: STORY_RUNS.cache.prompts, clients: STORY_RUNS.cache.clients, cache: stats.cache };
    }
    case "why": {
      const policy = (await readStats({ signal })).rateLimit.anonymousPolicy;
      const run = await runSimulator({ request: probeRun(policy.limit), signal, onProgress });
      const stats = await readStats({ signal });
      return { id: "why", run, event: newestBlocked(stats), policy, now: Date.parse(stats.timestamp) };
    }
    case "lab": {
      const { limit } = (await readStats({ signal })).rateLimit.anonymousPolicy;
      const lab = await getJson({
        url: "/api/lab",
        parse: (v) => labResultSchema.parse(v),
        signal,
        init: {
          method: "POST",
          headers: { "content-type": "application/json" },
          // The burst's limit, within what the lab accepts.
          body: JSON.stringify({ limit: Math.min(LAB_BOUNDS.limit.max, Math.max(LAB_BOUNDS.limit.min, limit)) }),
        },
      });
      return { id: "lab", lab };
    }
    case "valkey":
      return measureValkey({ signal, onProgress });
  }
}
