import "server-only";
import type { Config } from "@/lib/config";
import { createOpenAICompatibleUpstream } from "@/lib/gateway/upstreams/openai-compatible";
import { createSimulator } from "@/lib/gateway/upstreams/simulator";
import type { Upstream } from "@/lib/gateway/upstreams/types";

/** The upstream the configuration names: an OpenAI-compatible server with UPSTREAM_BASE_URL, else the simulator. */
export function createUpstream(config: Config): Upstream {
  if (!config.UPSTREAM_BASE_URL) {
    return createSimulator({ models: config.SIMULATED_MODELS, latencyMs: config.SIMULATED_LATENCY_MS });
  }
  return createOpenAICompatibleUpstream({
    baseUrl: config.UPSTREAM_BASE_URL,
    apiKey: config.UPSTREAM_API_KEY,
    connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs: config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
    idleTimeoutMs: config.UPSTREAM_IDLE_TIMEOUT_MS,
    totalTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    modelMap: config.UPSTREAM_MODEL_MAP,
  });
}

/** The model a request that names none gets. */
export function defaultModel(config: Config): string | null {
  return config.DEFAULT_MODEL ?? (config.UPSTREAM_BASE_URL ? null : (config.SIMULATED_MODELS[0] ?? null));
}
