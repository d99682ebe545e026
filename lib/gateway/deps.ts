import "server-only";
import { getConfig, type Config } from "@/lib/config";
import { createBreaker, type Breaker } from "@/lib/gateway/breaker";
import { createFallbackLimiter, type FallbackLimiter } from "@/lib/gateway/fallback-limiter";
import { getMetrics, setBreakerGauge, type Metrics } from "@/lib/metrics";
import { createUpstream } from "@/lib/gateway/upstreams";
import type { Upstream } from "@/lib/gateway/upstreams/types";
import { isValkeyUnavailable, readyValkey, type ValkeyClient } from "@/lib/valkey/client";
import { createKeySpace, type KeySpace } from "@/lib/valkey/keys";

/** What the gateway needs from the outside world, in one object. */
export interface GatewayDeps {
  config: Config;
  keys: KeySpace;
  /** The Valkey client once ready; throws GatewayError(valkey_unavailable) fast if not. */
  valkey: () => Promise<ValkeyClient>;
  /** Unix ms. */
  now: () => number;
  /** Wraps every Valkey call on the request path. */
  breaker: Breaker;
  /** Limits fail-open traffic while Valkey is unusable. */
  fallback: FallbackLimiter;
  metrics: Metrics;
  /** The model behind the gateway: the simulator, or UPSTREAM_BASE_URL's server. */
  upstream: Upstream;
}

let deps: GatewayDeps | undefined;

/** The process's gateway dependencies, built once from the environment. */
export function getGatewayDeps(): GatewayDeps {
  deps ??= createGatewayDeps(getConfig());
  return deps;
}

/** Dependencies for a given configuration and client (the bench builds several). */
export function createGatewayDeps(config: Config, valkey: () => Promise<ValkeyClient> = readyValkey): GatewayDeps {
  const metrics = getMetrics();
  const breaker = createBreaker({
    threshold: config.BREAKER_THRESHOLD,
    cooldownMs: config.BREAKER_COOLDOWN_MS,
    isFailure: isValkeyUnavailable,
    onStateChange: (state) => {
      setBreakerGauge(metrics, state);
      metrics.breakerTransitions.inc({ to: state });
      if (config.LOG_VALKEY_ERRORS) console.warn(`[flowgate] valkey circuit breaker ${state}`);
    },
  });
  return {
    config,
    keys: createKeySpace(config.VALKEY_PREFIX),
    valkey,
    now: Date.now,
    breaker,
    fallback: createFallbackLimiter(config.FALLBACK_MAX_CLIENTS),
    metrics,
    upstream: createUpstream(config),
  };
}

/** The policy overrides the environment sets (anonymous row, fail modes). */
export function policyOverrides(config: Config) {
  return {
    anonymous: {
      limit: config.RATE_LIMIT_MAX,
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      algorithm: config.RATE_LIMIT_ALGORITHM,
      tokens: config.RATE_LIMIT_TOKENS,
    },
    failMode: config.FAIL_MODE,
    failModeByTier: config.FAIL_MODE_BY_TIER,
  };
}
