/**
 * Loads the app's route handlers and libraries fresh, with an environment of
 * the test's choosing, and builds requests for them. Route handlers are
 * called directly with a Request, as Next.js calls them.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { vi } from "vitest";

export interface LoadedApp {
  generate: typeof import("@/app/api/generate/route");
  stats: typeof import("@/app/api/stats/route");
  valkey: typeof import("@/app/api/valkey/route");
  simulate: typeof import("@/app/api/simulate/route");
  limits: typeof import("@/app/api/limits/[identity]/route");
  health: typeof import("@/app/api/health/route");
  metrics: typeof import("@/app/api/metrics/route");
  lab: typeof import("@/app/api/lab/route");
  chat: typeof import("@/app/v1/chat/completions/route");
  models: typeof import("@/app/v1/models/route");
  deps: import("@/lib/gateway/deps").GatewayDeps;
  prefix: string;
  /** A separate connection for inspecting the server. */
  inspect: Redis;
  close(): Promise<void>;
}

/** Fresh modules under a fresh key prefix (unless given) and the given env overrides. */
export async function loadApp(env: Record<string, string> = {}): Promise<LoadedApp> {
  const previous = await import("@/lib/valkey/client");
  await previous.closeValkey();
  vi.resetModules();
  const prefix = env.VALKEY_PREFIX ?? `t${randomBytes(4).toString("hex")}:`;
  Object.assign(process.env, { VALKEY_PREFIX: prefix }, env);
  const [generate, stats, valkey, simulate, limits, health, metrics, lab, chat, models, depsModule, client] = await Promise.all([
    import("@/app/api/generate/route"),
    import("@/app/api/stats/route"),
    import("@/app/api/valkey/route"),
    import("@/app/api/simulate/route"),
    import("@/app/api/limits/[identity]/route"),
    import("@/app/api/health/route"),
    import("@/app/api/metrics/route"),
    import("@/app/api/lab/route"),
    import("@/app/v1/chat/completions/route"),
    import("@/app/v1/models/route"),
    import("@/lib/gateway/deps"),
    import("@/lib/valkey/client"),
  ]);
  const inspect = new Redis(process.env.VALKEY_URL as string, { lazyConnect: true, maxRetriesPerRequest: 1 });
  inspect.on("error", () => {});
  return {
    generate,
    stats,
    valkey,
    simulate,
    limits,
    health,
    metrics,
    lab,
    chat,
    models,
    deps: depsModule.getGatewayDeps(),
    prefix,
    inspect,
    async close() {
      inspect.disconnect();
      await client.closeValkey();
    },
  };
}

export function jsonRequest(
  path: string,
  body: unknown,
  options: { ip?: string; headers?: Record<string, string>; method?: string } = {},
): Request {
  return new Request(`http://localhost${path}`, {
    method: options.method ?? "POST",
    headers: {
      "content-type": "application/json",
      "x-flowgate-peer": options.ip ?? "203.0.113.7",
      ...options.headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A POST /v1/chat/completions with one user message (and any other body fields). */
export function chatRequest(
  content: string,
  extra: Record<string, unknown> = {},
  options: Parameters<typeof jsonRequest>[2] = {},
): Request {
  return jsonRequest("/v1/chat/completions", { model: "flowgate-sim-1", messages: [{ role: "user", content }], ...extra }, options);
}

export function generateRequest(prompt: string, options: Parameters<typeof jsonRequest>[2] = {}): Request {
  return jsonRequest("/api/generate", { prompt }, options);
}

/** All keys under a prefix: tests only (never on a request path). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== "0");
  // SCAN's order changes as the table rehashes: compare sets, not orders.
  return found.sort();
}

export async function commandStats(redis: Redis): Promise<Record<string, number>> {
  const text = await redis.info("commandstats");
  const out: Record<string, number> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match?.[1] && match[2]) out[match[1]] = Number(match[2]);
  }
  return out;
}

/** Call a dynamic /api/limits/{identity} handler as Next.js does. */
export function limitsContext(identity: string): { params: Promise<{ identity: string }> } {
  return { params: Promise.resolve({ identity: encodeURIComponent(identity) }) };
}

export function adminRequest(identity: string, options: { method?: string; token?: string } = {}): Request {
  return new Request(`http://localhost/api/limits/${encodeURIComponent(identity)}`, {
    method: options.method ?? "GET",
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
}
