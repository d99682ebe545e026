import "server-only";
import { isGatewayError } from "@/lib/errors";
import type { GatewayDeps } from "@/lib/gateway/deps";
import type { Health } from "@/lib/schemas";

/** /api/health's `valkey.error` when the PING itself failed. */
export const HEALTH_PING_FAILED = "Valkey did not answer a PING. The cause is in the gateway's log.";

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
    // A GatewayError's sentence is ours (not reachable, credentials refused); ioredis's words go to the log.
    if (isGatewayError(e)) error = e.message;
    else {
      console.warn("[flowgate] health PING failed:", e);
      error = HEALTH_PING_FAILED;
    }
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
