/**
 * HTTP: /api/generate on the production server (server.mjs, simulated
 * latency 0) beside the framework's floor, a route handler in the same app
 * that reads the body and makes one Valkey GET (app/api/bench/floor). Cache
 * hits, 429s and misses are separate runs; the runs take turns so the noise
 * of this shared machine falls on all of them. Each run's outcomes are
 * checked against the server's own counters, so a "hit" run is hits.
 */
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { createKeySpace } from "@/lib/valkey/keys";
import { median } from "../lib/percentiles";
import { log, sleep } from "./support";

export type HttpRunName = "floor" | "hit" | "blocked" | "miss";

export interface HttpRun {
  name: HttpRunName;
  label: string;
  /** Median over rounds of requests per second. */
  perSecond: number;
  roundsPerSecond: number[];
  /** ms, median over rounds. */
  p50: number;
  p99: number;
  /** Answers with the expected status, and the rest, over all rounds. */
  expected: number;
  unexpected: number;
  errors: number;
  /** The server's counters moved by exactly the expected answers (hits, blocks, misses). */
  verified: boolean | null;
}

export interface HttpResult {
  connections: number;
  durationSeconds: number;
  rounds: number;
  runs: HttpRun[];
}

const HIT_PROMPT = "bench: what does a gateway in front of an LLM do?";

interface Plan {
  name: HttpRunName;
  label: string;
  path: string;
  headers: Record<string, string>;
  expectedStatus: number;
  /** The totals field that must grow by the expected answers. */
  counter: string | null;
  uniquePrompts: boolean;
}

function cannon(url: string, plan: Plan, connections: number, duration: number): Promise<autocannon.Result> {
  let n = 0;
  const body = JSON.stringify({ prompt: HIT_PROMPT });
  const headers = { "content-type": "application/json", ...plan.headers };
  return autocannon({
    url: `${url}${plan.path}`,
    connections,
    duration,
    method: "POST",
    headers,
    body,
    requests: plan.uniquePrompts
      ? [{ method: "POST", setupRequest: (req) => ({ ...req, body: JSON.stringify({ prompt: `bench miss ${Date.now()} ${n++}` }) }) }]
      : undefined,
  });
}

export async function measureHttp(
  appUrl: string,
  valkeyUrl: string,
  opts: { connections: number; durationSeconds: number; rounds: number; limitedKey: string; limitedKeyLimit: number },
): Promise<HttpResult> {
  const inspect = new Redis(valkeyUrl);
  const totalsKey = createKeySpace("fg:").totals(0);
  const counter = async (field: string) => Number((await inspect.hget(totalsKey, field)) ?? 0);
  const limited = { "x-api-key": opts.limitedKey };

  const plans: Plan[] = [
    { name: "floor", label: "floor: route handler + 1 Valkey GET", path: "/api/bench/floor", headers: {}, expectedStatus: 200, counter: null, uniquePrompts: false },
    { name: "hit", label: "/api/generate, cache hit", path: "/api/generate", headers: {}, expectedStatus: 200, counter: "hits", uniquePrompts: false },
    { name: "blocked", label: "/api/generate, 429", path: "/api/generate", headers: limited, expectedStatus: 429, counter: "blocked", uniquePrompts: false },
    { name: "miss", label: "/api/generate, cache miss (model at 0 ms)", path: "/api/generate", headers: {}, expectedStatus: 200, counter: "misses", uniquePrompts: true },
  ];

  // The prompt is cached (the floor GETs the same entry), and the limited key is over its limit.
  const exhaust = async () => {
    for (let i = 0; i <= opts.limitedKeyLimit; i++) {
      const res = await fetch(`${appUrl}/api/generate`, {
        method: "POST",
        headers: { "content-type": "application/json", ...limited },
        body: JSON.stringify({ prompt: HIT_PROMPT }),
      });
      await res.arrayBuffer();
      if (res.status === 429) return;
    }
    throw new Error("the limited key never reached its limit");
  };
  await fetch(`${appUrl}/api/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: HIT_PROMPT }) });
  await exhaust();
  for (const plan of plans) await cannon(appUrl, plan, opts.connections, 1); // warm-up: JIT, sockets

  const samples = new Map<HttpRunName, { rps: number[]; p50: number[]; p99: number[]; expected: number; unexpected: number; errors: number; verified: boolean | null }>(
    plans.map((p) => [p.name, { rps: [], p50: [], p99: [], expected: 0, unexpected: 0, errors: 0, verified: p.counter ? true : null }]),
  );
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 === 0 ? plans : [...plans].reverse();
    for (const plan of order) {
      // A 60 s window slides: make sure the limited key is still over its limit.
      if (plan.name === "blocked") await exhaust();
      const before = plan.counter ? await counter(plan.counter) : 0;
      const r = await cannon(appUrl, plan, opts.connections, opts.durationSeconds);
      const after = plan.counter ? await counter(plan.counter) : 0;
      const s = samples.get(plan.name);
      if (!s) continue;
      const statuses: Record<string, { count?: number }> = r.statusCodeStats ?? {};
      const expected = statuses[String(plan.expectedStatus)]?.count ?? 0;
      const answered = Object.values(statuses).reduce((sum, v) => sum + (v.count ?? 0), 0);
      s.rps.push(answered / r.duration);
      s.p50.push(r.latency.p50);
      s.p99.push(r.latency.p99);
      s.expected += expected;
      s.unexpected += answered - expected;
      s.errors += r.errors; // timeouts included
      // Requests still in flight when autocannon stops may land after `after`; allow for them.
      if (plan.counter && (after - before < expected || after - before > expected + opts.connections)) s.verified = false;
      await sleep(200);
    }
    log(`http: round ${round + 1}/${opts.rounds} done`);
  }
  inspect.disconnect();

  return {
    connections: opts.connections,
    durationSeconds: opts.durationSeconds,
    rounds: opts.rounds,
    runs: plans.map((plan) => {
      const s = samples.get(plan.name);
      return {
        name: plan.name,
        label: plan.label,
        perSecond: median(s?.rps ?? []),
        roundsPerSecond: (s?.rps ?? []).map((v) => Math.round(v)),
        p50: median(s?.p50 ?? []),
        p99: median(s?.p99 ?? []),
        expected: s?.expected ?? 0,
        unexpected: s?.unexpected ?? 0,
        errors: s?.errors ?? 0,
        verified: s?.verified ?? null,
      };
    }),
  };
}
