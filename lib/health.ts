import "server-only";
import type { GatewayDeps } from "@/lib/gateway/deps";
import type { Health } from "@/lib/schemas";

/**
 * Is the gateway healthy: can it reach Valkey (a PING, timed) and is its
 * circuit breaker letting calls through? The PING bypasses the breaker on
 * purpose: health must look at Valkey itself, not at the breaker's memory.
 */
export async function checkHealth(deps: GatewayDeps): Promise<Health> {
  const breaker = deps.breaker.snapshot();
  let reachable = false;
  let roundTripMs: number | null = null;
  let error: string | undefined;
  try {
    const client = await deps.valkey();
    const started = performance.now();
    await client.ping();
    roundTripMs = Math.round((performance.now() - started) * 1000) / 1000;
    reachable = true;
  } catch (e) {
    error = (e as Error).message;
  }
  const healthy = reachable && breaker.state !== "open";
  return {
    status: healthy ? "ok" : reachable ? "degraded" : "down",
    timestamp: new Date().toISOString(),
    valkey: { reachable, roundTripMs, ...(error ? { error } : {}) },
    breaker,
    fallback: { clients: deps.fallback.size() },
  };
}
