import "server-only";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BreakerState } from "@/lib/gateway/breaker";

/**
 * Prometheus metrics of this process (GET /api/metrics). The registry lives
 * on globalThis: Next.js dev reloads modules on every edit, and registering
 * a metric name twice in one registry throws.
 */

export interface Metrics {
  registry: Registry;
  decisions: Counter<"outcome" | "tier">;
  cache: Counter<"result">;
  refusals: Counter<"policy">;
  decisionSeconds: Histogram<"path">;
  valkeyErrors: Counter<"operation">;
  breakerState: Gauge<"state">;
  breakerTransitions: Counter<"to">;
}

const BREAKER_STATES: BreakerState[] = ["closed", "half-open", "open"];

function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "flowgate_process_" });
  const metrics: Metrics = {
    registry,
    decisions: new Counter({
      name: "flowgate_decisions_total",
      help: "Gateway decisions by outcome (miss, hit, coalesced, blocked, fallback_allowed, fallback_blocked, unavailable) and tier.",
      labelNames: ["outcome", "tier"],
      registers: [registry],
    }),
    cache: new Counter({
      name: "flowgate_cache_lookups_total",
      help: "Prompt-cache lookups of admitted requests: hit, miss, or coalesced (waited for another request's generation).",
      labelNames: ["result"],
      registers: [registry],
    }),
    refusals: new Counter({
      name: "flowgate_rate_limit_refusals_total",
      help: "Requests refused, by the policy that refused them (e.g. free, free-tokens, free-daily).",
      labelNames: ["policy"],
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: "flowgate_decision_duration_seconds",
      help: "Time to reach a rate-limit decision: the decide.lua round trip (valkey) or the in-process fallback (fallback).",
      labelNames: ["path"],
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    valkeyErrors: new Counter({
      name: "flowgate_valkey_errors_total",
      help: "Failed Valkey calls on the request path (calls refused by an open breaker are not counted).",
      labelNames: ["operation"],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "flowgate_breaker_state",
      help: "Valkey circuit breaker: 1 for the current state, 0 for the others.",
      labelNames: ["state"],
      registers: [registry],
    }),
    breakerTransitions: new Counter({
      name: "flowgate_breaker_transitions_total",
      help: "Circuit breaker state changes, by the state entered.",
      labelNames: ["to"],
      registers: [registry],
    }),
  };
  setBreakerGauge(metrics, "closed");
  return metrics;
}

export function setBreakerGauge(metrics: Metrics, state: BreakerState): void {
  for (const s of BREAKER_STATES) metrics.breakerState.set({ state: s }, s === state ? 1 : 0);
}

type Holder = { __flowgateMetrics?: Metrics };
const holder = globalThis as Holder;

export function getMetrics(): Metrics {
  holder.__flowgateMetrics ??= createMetrics();
  return holder.__flowgateMetrics;
}
