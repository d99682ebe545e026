import "server-only";
import { isIP } from "node:net";
import proxyaddr from "proxy-addr";
import { z } from "zod";
import { SIMULATE_BOUNDS } from "@/lib/schemas";
import { ALGORITHMS, TIER_NAMES, type FailMode, type TierName } from "@/lib/tiers";

/**
 * The environment, parsed once. Every setting Flowgate reads lives here; no
 * other module touches process.env. A bad value throws a ConfigError that
 * names the variable, and instrumentation.ts turns that into a failed start.
 */

const booleanish = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** "key:tier,key:tier" → [{ key, tier }]. */
const apiKeyList = z
  .string()
  .transform((raw, ctx) => {
    const entries: { key: string; tier: TierName }[] = [];
    for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
      const at = part.lastIndexOf(":");
      const key = at > 0 ? part.slice(0, at) : "";
      const tier = at > 0 ? part.slice(at + 1) : "";
      if (!key || !(TIER_NAMES as readonly string[]).includes(tier) || tier === "anonymous") {
        ctx.addIssue({
          code: "custom",
          message: `"${part}" must look like <key>:<tier> with tier one of free, pro, enterprise`,
        });
        return z.NEVER;
      }
      entries.push({ key, tier: tier as TierName });
    }
    return entries;
  });

const NAMED_RANGES = ["loopback", "linklocal", "uniquelocal"];
const TRUST_PROXY_FORMS =
  "true, false, a number of proxy hops (1-10), or a list of trusted proxies (loopback, linklocal, uniquelocal, addresses, CIDR ranges: e.g. loopback,10.0.0.0/8)";

/**
 * TRUST_PROXY, in the style of Express's `trust proxy`. unset/false → 0 hops
 * believed; true → 1; a number → that many hops (the historical forms). Else
 * a comma-separated list of proxies trusted wherever they appear in the
 * chain: `loopback`, `linklocal`, `uniquelocal`, addresses and CIDR ranges
 * (`loopback,10.0.0.0/8`), compiled by proxy-addr.
 */
const trustProxy = z
  .string()
  .transform((raw, ctx): number | string[] => {
    const v = raw.trim().toLowerCase();
    if (v === "" || v === "false" || v === "0" || v === "no") return 0;
    if (v === "true" || v === "yes") return 1;
    if (/^\d+$/.test(v)) {
      const n = Number(v);
      if (n >= 1 && n <= 10) return n;
    } else {
      const list = v.split(",").map((p) => p.trim()).filter(Boolean);
      // isIP first: proxy-addr's ipaddr.js would also take forms like "11" or "0x7f.1" as addresses.
      const bad = list.find((entry) => !NAMED_RANGES.includes(entry) && isIP(entry.split("/")[0] ?? "") === 0);
      if (bad) {
        ctx.addIssue({ code: "custom", message: `"${bad}" is not an address, a range or a range name; must be ${TRUST_PROXY_FORMS}` });
        return z.NEVER;
      }
      try {
        proxyaddr.compile(list);
        return list;
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `${(error as Error).message}; must be ${TRUST_PROXY_FORMS}` });
        return z.NEVER;
      }
    }
    ctx.addIssue({ code: "custom", message: `must be ${TRUST_PROXY_FORMS}` });
    return z.NEVER;
  });

/** "tier:mode,tier:mode" → { tier: mode }. */
const failModeByTier = z.string().transform((raw, ctx) => {
  const out: Partial<Record<TierName, FailMode>> = {};
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [tier, mode] = part.split(":").map((p) => p.trim());
    if (!tier || !(TIER_NAMES as readonly string[]).includes(tier) || (mode !== "open" && mode !== "closed")) {
      ctx.addIssue({ code: "custom", message: `"${part}" must look like <tier>:open or <tier>:closed` });
      return z.NEVER;
    }
    out[tier as TierName] = mode;
  }
  return out;
});

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const MODEL_NAME = /^[A-Za-z0-9._:/@-]{1,128}$/;

/** "a,b,c" → ["a", "b", "c"]: model names. */
const modelList = z.string().transform((raw, ctx) => {
  const names = raw.split(",").map((p) => p.trim()).filter(Boolean);
  const bad = names.find((n) => !MODEL_NAME.test(n));
  if (bad !== undefined || names.length === 0) {
    ctx.addIssue({ code: "custom", message: `must be a comma-separated list of model names${bad ? ` ("${bad}" is not one)` : ""}` });
    return z.NEVER;
  }
  return names;
});

/** "asked=upstream,asked=upstream" → { asked: upstream }: the names clients use, and the upstream's. */
const modelMap = z.string().transform((raw, ctx) => {
  const out: Record<string, string> = {};
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    const asked = part.slice(0, at).trim();
    const upstream = part.slice(at + 1).trim();
    if (at <= 0 || !MODEL_NAME.test(asked) || !MODEL_NAME.test(upstream)) {
      ctx.addIssue({ code: "custom", message: `"${part}" must look like <name clients use>=<upstream model>` });
      return z.NEVER;
    }
    out[asked] = upstream;
  }
  return out;
});

/** "host:port,host:port" → [{ host, port }]: the cluster's seed nodes. */
const clusterNodeList = z.string().transform((raw, ctx) => {
  const nodes: { host: string; port: number }[] = [];
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = part.lastIndexOf(":");
    const host = at > 0 ? part.slice(0, at).replace(/^\[(.*)\]$/, "$1") : "";
    const port = Number(at > 0 ? part.slice(at + 1) : NaN);
    if (!host || /[\s/@]/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
      ctx.addIssue({ code: "custom", message: `"${part}" must look like <host>:<port> (comma-separated list)` });
      return z.NEVER;
    }
    nodes.push({ host, port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: "custom", message: "must list at least one <host>:<port>" });
    return z.NEVER;
  }
  return nodes;
});

/** Analytics shards when VALKEY_SHARDS is unset: one server needs one; a cluster spreads them over its slots. */
export const DEFAULT_SHARDS = { standalone: 1, cluster: 16 } as const;

export const envSchema = z.object({
  VALKEY_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .default("redis://127.0.0.1:6380"),
  VALKEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,32}$/, "letters, digits, _ . : - only (at most 32)")
    .default("fg:"),
  /**
   * Seed nodes of a Valkey Cluster; set = cluster mode (ioredis Cluster). The
   * password then comes from VALKEY_PASSWORD, else from VALKEY_URL's credentials.
   */
  VALKEY_CLUSTER_NODES: clusterNodeList.optional(),
  /** Cluster mode over TLS (also on when VALKEY_URL starts with rediss://). */
  VALKEY_CLUSTER_TLS: booleanish.default(false),
  /** Cluster mode only: the nodes' password (ACL user: the username in VALKEY_URL). */
  VALKEY_PASSWORD: z.string().min(1).optional(),
  /** Shard tags the analytics keys spread over; default 1 standalone, 16 on a cluster. */
  VALKEY_SHARDS: int(1, 64).optional(),
  /** CA certificate (PEM) for rediss:// servers signed by a private CA. */
  VALKEY_TLS_CA_FILE: z.string().min(1).optional(),
  VALKEY_CONNECT_TIMEOUT_MS: int(50, 5000).default(500),
  VALKEY_COMMAND_TIMEOUT_MS: int(50, 5000).default(500),
  RATE_LIMIT_MAX: int(1, 1_000_000).default(10),
  RATE_LIMIT_WINDOW_MS: int(100, 86_400_000).default(60_000),
  /** Algorithm of the anonymous request limit. */
  RATE_LIMIT_ALGORITHM: z.enum(ALGORITHMS).default("sliding-log"),
  /** Anonymous tokens per RATE_LIMIT_WINDOW_MS; 0 = no token limit for anonymous callers. */
  RATE_LIMIT_TOKENS: int(0, 100_000_000).default(0),
  /** Bearer token of the admin routes (/api/limits); unset = those routes answer 403. */
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  CACHE_TTL_SECONDS: int(1, 30 * 86_400).default(3600),
  STREAM_MAXLEN: int(10, 1_000_000).default(1000),
  TRUST_PROXY: trustProxy.default(0),
  /** IPv6 callers are grouped by this prefix: every address in one /64 (default) shares one window. */
  IPV6_PREFIX_BITS: int(16, 128).default(64),
  /** Wrong API keys one client address may send per minute (counted in Valkey) before it gets 429s. */
  AUTH_FAILURES_PER_MINUTE: int(1, 10_000).default(10),
  FAIL_MODE: z.enum(["open", "closed"]).default("open"),
  /** Per-tier FAIL_MODE, e.g. "enterprise:open,anonymous:closed". */
  FAIL_MODE_BY_TIER: failModeByTier.default({}),
  /** Consecutive Valkey failures that open the circuit breaker. */
  BREAKER_THRESHOLD: int(1, 1000).default(5),
  /** How long the breaker stays open before one probe call, ms. */
  BREAKER_COOLDOWN_MS: int(100, 600_000).default(2000),
  /** Callers remembered by the in-process fallback limiter (oldest dropped first; refused ones kept apart from new ones). */
  FALLBACK_MAX_CLIENTS: int(100, 1_000_000).default(10_000),
  /** Lifetime of a prompt's generation lock, ms; 0 = no cross-instance lock. */
  STAMPEDE_LOCK_MS: int(0, 600_000).default(10_000),
  /**
   * How long a request waits for another's generation of the same prompt
   * before generating itself, ms. The owner keeps its lock alive while it
   * generates, so a slow real model is waited for, up to this bound.
   */
  STAMPEDE_WAIT_MS: int(0, 600_000).default(60_000),
  /** The simulated model's time for a whole answer, ms; its tokens stream out evenly over it. */
  SIMULATED_LATENCY_MS: int(0, 60_000).default(600),
  /** Models the built-in simulator serves (GET /v1/models); the first is the default. */
  SIMULATED_MODELS: modelList.default(["flowgate-sim-1", "flowgate-sim-mini"]),
  /** Model of a /api/generate request that names none; default: the first simulated model, or with UPSTREAM_BASE_URL required. */
  DEFAULT_MODEL: z.string().regex(MODEL_NAME, "must be a model name").optional(),
  /** An OpenAI-compatible server to forward to (https://api.openai.com/v1, http://127.0.0.1:11434/v1 for Ollama…); unset = the simulator. */
  UPSTREAM_BASE_URL: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
  /** Bearer key for UPSTREAM_BASE_URL; never logged, never returned. */
  UPSTREAM_API_KEY: z.string().min(1).optional(),
  /** Model names clients use mapped to the upstream's, e.g. "gpt-4o-mini=llama3.2:3b". */
  UPSTREAM_MODEL_MAP: modelMap.default({}),
  UPSTREAM_CONNECT_TIMEOUT_MS: int(50, 60_000).default(3000),
  /** Until the upstream's first byte of answer (a real model's time to first token), ms. */
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /** Longest silence mid-stream, ms. */
  UPSTREAM_IDLE_TIMEOUT_MS: int(100, 600_000).default(30_000),
  UPSTREAM_TIMEOUT_MS: int(100, 3_600_000).default(300_000),
  /** "global": identical requests share one cached answer whoever asks; "key": each caller has its own cache. */
  CACHE_SCOPE: z.enum(["global", "key"]).default("global"),
  /** Unset: the demo keys, except with NODE_ENV=production, where it means no keys at all. */
  API_KEYS: apiKeyList.optional(),
  /** production switches off the demo keys (API_KEYS) and masks addresses in /api/stats. */
  NODE_ENV: z.string().default("development"),
  /**
   * The local demo (`npm run demo`, docker compose): the demo keys when
   * API_KEYS is unset and caller addresses shown whole, even in a production
   * build. Never set it on a gateway that faces the internet.
   */
  FLOWGATE_DEMO: booleanish.default(false),
  MAX_BODY_BYTES: int(256, 1_048_576).default(16_384),
  /** Body limit of /v1/chat/completions: real conversations (history, retrieved context) run larger than one prompt. */
  CHAT_MAX_BODY_BYTES: int(1024, 16_777_216).default(1_048_576),
  /**
   * The server's caps on a simulator run, within what the request schema
   * accepts: a cap the schema would refuse anyway is a mistake, refused here.
   */
  SIMULATE_MAX_COUNT: int(SIMULATE_BOUNDS.count.min, SIMULATE_BOUNDS.count.max).default(SIMULATE_BOUNDS.count.max),
  SIMULATE_MAX_CONCURRENCY: int(SIMULATE_BOUNDS.concurrency.min, SIMULATE_BOUNDS.concurrency.max).default(
    SIMULATE_BOUNDS.concurrency.max,
  ),
  /** Simulator runs allowed at once in one app instance (not across instances); more get a 429. */
  SIMULATE_MAX_RUNS: int(1, 20).default(2),
  /** Simulator runs one caller may start per minute (sliding log in Valkey, shared by instances). */
  SIMULATE_RUNS_PER_MINUTE: int(1, 10_000).default(20),
  PRICE_PER_1K_TOKENS: z.coerce.number().min(0).max(1000).default(0.01),
  LOG_VALKEY_ERRORS: booleanish.default(true),
  /** Serve the benchmark-only routes (app/api/bench/*); off by default, they answer 404. */
  BENCH_ROUTES: booleanish.default(false),
});

/** What an unset API_KEYS means outside production: public keys, for the local demo only. */
export const DEMO_API_KEYS: readonly { key: string; tier: TierName }[] = [
  { key: "demo-free-key", tier: "free" },
  { key: "demo-pro-key", tier: "pro" },
  { key: "demo-enterprise-key", tier: "enterprise" },
];

export type Config = Omit<z.infer<typeof envSchema>, "VALKEY_SHARDS" | "API_KEYS"> & {
  VALKEY_SHARDS: number;
  API_KEYS: readonly { key: string; tier: TierName }[];
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Flowgate configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Parse an environment-like record; throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Treat empty strings as unset so `FOO=` in a .env file means "default".
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ""),
  );
  const result = envSchema.safeParse(cleaned);
  if (result.success) {
    const data = result.data;
    const mode = data.VALKEY_CLUSTER_NODES ? "cluster" : "standalone";
    // Published demo keys (one of them enterprise) must never open a production deployment.
    const apiKeys = data.API_KEYS ?? (data.NODE_ENV === "production" && !data.FLOWGATE_DEMO ? [] : DEMO_API_KEYS);
    return { ...data, VALKEY_SHARDS: data.VALKEY_SHARDS ?? DEFAULT_SHARDS[mode], API_KEYS: apiKeys };
  }
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join(".") || "(env)"}: ${issue.message}`),
  );
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use and kept. */
export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
