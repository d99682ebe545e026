// First, so no schema is parsed before it: zod without its eval JIT in the browser (the CSP refuses eval).
import "@/lib/hooks/zod-jitless";
import { z } from "zod";
import { ALGORITHMS, DIMENSION_KINDS, TIER_NAMES } from "@/lib/tiers";

/**
 * Every request and response body, in one place. Routes validate with these;
 * the dashboard imports the same types. Nothing here reads the environment or
 * imports ioredis, so client components can import it.
 */

export const PROMPT_MAX_CHARS = 4000;
export const MODEL_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export const SIMULATE_BOUNDS = {
  count: { min: 1, max: 2000, default: 50 },
  concurrency: { min: 1, max: 50, default: 10 },
  clients: { min: 1, max: 100, default: 1 },
  prompts: { min: 1, max: 50, default: 5 },
} as const;

// ---- POST /api/generate -------------------------------------------------

export const generateRequestSchema = z.object({
  prompt: z
    .string({ error: (issue) => (issue.input === undefined ? "prompt is required" : "prompt must be a string") })
    .trim()
    .min(1, "prompt must not be empty")
    .max(PROMPT_MAX_CHARS, `prompt must be at most ${PROMPT_MAX_CHARS} characters`),
  model: z
    .string()
    .regex(MODEL_PATTERN, "model must be 1-64 letters, digits, . _ : or -")
    .optional(),
});
export type GenerateRequest = z.infer<typeof generateRequestSchema>;

export const limitDimensionSchema = z.object({
  /** Policy name: `free`, `free-tokens`, `free-daily`. */
  policy: z.string(),
  dimension: z.enum(DIMENSION_KINDS),
  algorithm: z.enum(ALGORITHMS),
  /** Units (requests or tokens) per window. */
  limit: z.number().int(),
  remaining: z.number().int(),
  /** Unix ms when the next unit frees up. */
  resetAt: z.number().int(),
  windowMs: z.number().int(),
});
export type LimitDimension = z.infer<typeof limitDimensionSchema>;

export const rateLimitInfoSchema = z.object({
  limit: z.number().int(),
  remaining: z.number().int(),
  /** Unix ms when the oldest request in the window leaves it. */
  resetAt: z.number().int(),
  windowMs: z.number().int(),
  policy: z.string(),
  /** Every limit of the plan after this request (requests first, then tokens, daily). */
  dimensions: z.array(limitDimensionSchema).optional(),
});
export type RateLimitInfo = z.infer<typeof rateLimitInfoSchema>;

export const usageSchema = z.object({
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  totalTokens: z.number().int(),
});

export const generateResponseSchema = z.object({
  response: z.string(),
  cached: z.boolean(),
  model: z.string(),
  rateLimit: rateLimitInfoSchema.nullable(),
  usage: usageSchema,
  /** Time this request spent in the gateway, ms. */
  latencyMs: z.number(),
  requestId: z.string(),
  identity: z.string(),
  tier: z.enum(TIER_NAMES),
  cacheKey: z.string(),
  /** On a hit: what the original generation took, now saved. */
  saved: z.object({ tokens: z.number().int(), latencyMs: z.number() }).optional(),
  /** Set when Valkey was unreachable and FAIL_MODE=open served the request from the in-process fallback limiter. */
  degraded: z.string().optional(),
  /** Answered with another concurrent request's generation of the same prompt (counted as a hit). */
  coalesced: z.boolean().optional(),
});
export type GenerateResponse = z.infer<typeof generateResponseSchema>;

export const errorBodySchema = z.looseObject({
  error: z.string(),
  code: z.string(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const rateLimitedBodySchema = errorBodySchema.extend({
  code: z.literal("rate_limited"),
  /** ISO time at which a retry can succeed. */
  retryAfter: z.string(),
  retryAfterSeconds: z.number().int(),
  policy: z.string(),
  limit: z.number().int(),
  windowMs: z.number().int(),
  identity: z.string(),
  /** Which dimension refused: requests, tokens or daily. */
  dimension: z.enum(DIMENSION_KINDS).optional(),
  /** Every limit of the plan, untouched by this refused request. */
  limits: z.array(limitDimensionSchema).optional(),
});
export type RateLimitedBody = z.infer<typeof rateLimitedBodySchema>;

// ---- POST /api/simulate -------------------------------------------------

const bounded = (b: { min: number; max: number; default: number }, name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(b.min, `${name} must be at least ${b.min}`)
    .max(b.max, `${name} must be at most ${b.max}`)
    .default(b.default);

export const simulateRequestSchema = z.object({
  count: bounded(SIMULATE_BOUNDS.count, "count"),
  concurrency: bounded(SIMULATE_BOUNDS.concurrency, "concurrency"),
  /** Distinct simulated clients the burst is spread over, round robin. */
  clients: bounded(SIMULATE_BOUNDS.clients, "clients"),
  /** Size of the prompt pool: fewer prompts, more cache hits. */
  prompts: bounded(SIMULATE_BOUNDS.prompts, "prompts"),
  /** Plan of the simulated clients; "mixed" cycles through all four. */
  tier: z.enum([...TIER_NAMES, "mixed"]).default("anonymous"),
});
export type SimulateRequest = z.infer<typeof simulateRequestSchema>;
export type SimulateRequestInput = z.input<typeof simulateRequestSchema>;

export const simulateOutcomeSchema = z.enum(["allowed", "cached", "blocked", "failed"]);
export type SimulateOutcome = z.infer<typeof simulateOutcomeSchema>;

export const simulateResultSchema = z.object({
  index: z.number().int(),
  identity: z.string(),
  tier: z.enum(TIER_NAMES),
  outcome: simulateOutcomeSchema,
  status: z.number().int(),
  cached: z.boolean(),
  remaining: z.number().int().nullable(),
  latencyMs: z.number(),
  error: z.string().optional(),
});
export type SimulateResult = z.infer<typeof simulateResultSchema>;

export const simulateSummarySchema = z.object({
  total: z.number().int(),
  successful: z.number().int(),
  blocked: z.number().int(),
  cached: z.number().int(),
  failed: z.number().int(),
  durationMs: z.number(),
});
export type SimulateSummary = z.infer<typeof simulateSummarySchema>;

export const simulateResponseSchema = z.object({
  summary: simulateSummarySchema,
  results: z.array(simulateResultSchema),
});
export type SimulateResponse = z.infer<typeof simulateResponseSchema>;

/** NDJSON lines of a streamed run (Accept: application/x-ndjson). */
export const simulateStreamLineSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("start"), total: z.number().int() }),
  z.object({ type: z.literal("progress"), done: z.number().int(), total: z.number().int(), result: simulateResultSchema }),
  z.object({ type: z.literal("done"), summary: simulateSummarySchema }),
  z.object({ type: z.literal("error"), error: z.string(), code: z.string() }),
]);
export type SimulateStreamLine = z.infer<typeof simulateStreamLineSchema>;

// ---- GET /api/stats -----------------------------------------------------

export const eventTypeSchema = z.enum(["blocked", "hit", "miss"]);
export type EventType = z.infer<typeof eventTypeSchema>;

/** The endpoint a request came in through: POST /api/generate or POST /v1/chat/completions. */
export const doorSchema = z.enum(["generate", "openai"]);
export type Door = z.infer<typeof doorSchema>;

/** Requests per door, blocked ones included. */
export const doorCountsSchema = z.object({ generate: z.number(), openai: z.number() });
export type DoorCounts = z.infer<typeof doorCountsSchema>;

export const activityEventSchema = z.object({
  /** Stream entry id. */
  id: z.string(),
  requestId: z.string(),
  type: eventTypeSchema,
  identity: z.string(),
  tier: z.string(),
  /** The limit the numbers below belong to: the refusing one for a blocked request, else the request limit. */
  policy: z.string(),
  /** A hit that waited for another request's generation of the same prompt (stampede protection). */
  coalesced: z.boolean(),
  door: doorSchema,
  /** Model the caller asked for; "" when the event predates models being logged. */
  model: z.string(),
  /** Unix ms. */
  timestamp: z.number(),
  /** Requests in the caller's window after this decision. */
  inWindow: z.number(),
  limit: z.number(),
  remaining: z.number(),
  /** Unix ms when the caller's window frees a slot. */
  resetAt: z.number(),
  cacheKey: z.string(),
  /** Miss: generation time. Hit/blocked: 0. */
  latencyMs: z.number(),
  /** Miss: tokens generated. Hit: tokens saved. */
  tokens: z.number(),
  /** Hit: generation time saved, ms. */
  savedMs: z.number(),
});
export type ActivityEvent = z.infer<typeof activityEventSchema>;

export const timeBucketSchema = z.object({
  /** Bucket start, Unix ms. */
  t: z.number(),
  requests: z.number(),
  allowed: z.number(),
  blocked: z.number(),
  hits: z.number(),
  misses: z.number(),
  tokens: z.number(),
  doors: doorCountsSchema,
});
export type TimeBucket = z.infer<typeof timeBucketSchema>;

export const topConsumerSchema = z.object({
  /** The caller's label: `ip:<address>` (`ip:<network>/<bits>`), `key:<12 hex>` or `sim:<tier>:<n>`. */
  identity: z.string(),
  tier: z.string(),
  requests: z.number(),
  blocked: z.number(),
});
export type TopConsumer = z.infer<typeof topConsumerSchema>;

export const valkeyInfoSchema = z.object({
  server: z.string(),
  version: z.string(),
  mode: z.string(),
  usedMemoryBytes: z.number(),
  usedMemoryHuman: z.string(),
  opsPerSec: z.number(),
  connectedClients: z.number(),
  uptimeSeconds: z.number(),
  /** Round trip of the stats read, ms. */
  roundTripMs: z.number(),
});
export type ValkeyInfo = z.infer<typeof valkeyInfoSchema>;

const latencyStatSchema = z.object({
  /** ms; null until something was measured. */
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  count: z.number().int(),
});

export const latencySummarySchema = z.object({
  hit: latencyStatSchema,
  miss: latencyStatSchema,
  blocked: latencyStatSchema,
  /** Measured by the app instance that answered, over its last 500 requests of each kind. */
  scope: z.literal("instance"),
});
export type LatencySummary = z.infer<typeof latencySummarySchema>;

export const statsSchema = z.object({
  connected: z.boolean(),
  timestamp: z.string(),
  error: z.string().optional(),
  rateLimit: z.object({
    /** Distinct callers in the last minute, from per-bucket HyperLogLogs (TokenFlow: rate-limit keys). */
    totalKeys: z.number(),
    topConsumers: z.array(topConsumerSchema),
    blockedRequests: z.number(),
    requestsPerMinute: z.number(),
    blockedPerMinute: z.number(),
    anonymousPolicy: z.object({ limit: z.number(), windowMs: z.number() }),
  }),
  cache: z.object({
    hits: z.number(),
    misses: z.number(),
    total: z.number(),
    /** hits / (hits + misses), 0..1. */
    hitRatio: z.number(),
    cachedKeys: z.number(),
    tokensSaved: z.number(),
    timeSavedMs: z.number(),
    tokensGenerated: z.number(),
    /** PRICE_PER_1K_TOKENS × tokensSaved / 1000, in dollars. */
    costSaved: z.number(),
    pricePer1kTokens: z.number(),
    ttlSeconds: z.number(),
  }),
  totals: z.object({
    requests: z.number(),
    allowed: z.number(),
    blocked: z.number(),
    hits: z.number(),
    misses: z.number(),
    generations: z.number(),
    generationMs: z.number(),
    doors: doorCountsSchema,
  }),
  activity: z.array(activityEventSchema),
  timeseries: z.array(timeBucketSchema),
  keyDistribution: z.object({
    rateLimit: z.number(),
    cache: z.number(),
    stream: z.number(),
    counters: z.number(),
  }),
  /** Keys in the whole Valkey database (DBSIZE). */
  totalKeys: z.number(),
  stream: z.object({ length: z.number(), cap: z.number() }),
  valkey: valkeyInfoSchema.nullable(),
  /** Gateway latency by outcome (hit, miss, blocked), in ms. */
  latency: latencySummarySchema,
  /** How the snapshot was read: commands sent and round trips. */
  cost: z.object({ commands: z.number(), roundTrips: z.number() }),
});
export type Stats = z.infer<typeof statsSchema>;

// ---- GET /api/valkey: what Valkey does under the hood ----

/** One bar of a TTL histogram: keys whose remaining life is in [fromSeconds, toSeconds). */
export const ttlBucketSchema = z.object({
  label: z.string(),
  fromSeconds: z.number(),
  /** null: open-ended (the last bar). */
  toSeconds: z.number().nullable(),
  count: z.number().int(),
});
export type TtlBucket = z.infer<typeof ttlBucketSchema>;

export const ttlHistogramSchema = z.object({
  /** Live members of the index set (not yet expired). */
  total: z.number().int(),
  buckets: z.array(ttlBucketSchema),
});
export type TtlHistogram = z.infer<typeof ttlHistogramSchema>;

export const keyKindSchema = z.enum(["limits", "cache", "stream", "counters"]);
export type KeyKind = z.infer<typeof keyKindSchema>;

export const memorySampleSchema = z.object({
  /** Unix ms of the 10 s interval the sample stands for. */
  t: z.number(),
  usedBytes: z.number(),
  rssBytes: z.number(),
  fragmentationRatio: z.number(),
  /** Decide/store calls (EVALSHA) per second since the sample before; null for the first. */
  scriptCallsPerSec: z.number().nullable(),
  /** Mean Valkey µs per EVALSHA since the sample before; null when there were none. */
  scriptUsecPerCall: z.number().nullable(),
});
export type MemorySample = z.infer<typeof memorySampleSchema>;

export const commandRowSchema = z.object({
  /** Lower-case command name, e.g. "evalsha", "zadd". */
  command: z.string(),
  /** Calls since the server started (or CONFIG RESETSTAT). */
  calls: z.number(),
  /** Over the last interval (intervalSeconds); null until two readings exist. */
  callsPerSec: z.number().nullable(),
  usecPerCall: z.number().nullable(),
  /** Mean since the server started. */
  usecPerCallAllTime: z.number(),
  /** Percentiles from INFO latencystats (cumulative: since the server started), µs; null when the server has none. */
  p50: z.number().nullable(),
  p99: z.number().nullable(),
  p999: z.number().nullable(),
});
export type CommandRow = z.infer<typeof commandRowSchema>;

export const slowlogEntrySchema = z.object({
  id: z.number(),
  /** Unix ms. */
  at: z.number(),
  durationUs: z.number(),
  command: z.string(),
  /** The Flowgate script an EVALSHA ran ("decide", "store"…), when known. */
  script: z.string().nullable(),
});
export type SlowlogEntry = z.infer<typeof slowlogEntrySchema>;

export const hotPromptSchema = z.object({
  /** First hex digits of the prompt's SHA-256 (the cache key). */
  hash: z.string(),
  /** The start of the prompt; null where the viewer may not see prompts. */
  preview: z.string().nullable(),
  /** Hits in the last few minutes (Space-Saving: may overcount by the evicted minimum). */
  hits: z.number(),
  /** null when the entry is no longer cached. */
  ageSeconds: z.number().nullable(),
  ttlSeconds: z.number().nullable(),
});
export type HotPrompt = z.infer<typeof hotPromptSchema>;

export const consumerGroupSchema = z.object({
  name: z.string(),
  consumers: z.number().int(),
  /** Delivered and not yet acknowledged. */
  pending: z.number().int(),
  /** Entries not yet delivered to the group; null when Valkey cannot tell (entries trimmed past it). */
  lag: z.number().nullable(),
  lastDeliveredId: z.string(),
});
export type ConsumerGroup = z.infer<typeof consumerGroupSchema>;

export const valkeyViewsSchema = z.object({
  connected: z.boolean(),
  timestamp: z.string(),
  error: z.string().optional(),
  memory: z.object({
    usedBytes: z.number(),
    rssBytes: z.number(),
    peakBytes: z.number(),
    fragmentationRatio: z.number(),
    /** 0: no limit. */
    maxmemoryBytes: z.number(),
    policy: z.string(),
    sampleIntervalMs: z.number(),
    /** The last hour, oldest first, one sample per interval whoever polled. */
    series: z.array(memorySampleSchema),
    /** Memory by key kind, estimated from MEMORY USAGE of a few keys of each kind. */
    byKind: z.array(
      z.object({
        kind: keyKindSchema,
        keys: z.number().int(),
        sampled: z.number().int(),
        bytesPerKey: z.number().nullable(),
        estimatedBytes: z.number().nullable(),
      }),
    ),
  }),
  ttl: z.object({ cache: ttlHistogramSchema, limits: ttlHistogramSchema }),
  commands: z.object({
    /** Span the per-interval figures cover, s; null until an earlier reading exists. */
    intervalSeconds: z.number().nullable(),
    /** Valkey µs per gateway script call (EVALSHA: decide, store…) over the interval. */
    usecPerScriptCall: z.number().nullable(),
    /** What one decision costs Valkey over the interval: all script µs ÷ decisions (a miss's store included), µs. */
    usecPerDecision: z.number().nullable(),
    /** Decisions per second over the interval. */
    decisionsPerSec: z.number().nullable(),
    /**
     * Script calls of the interval in the slow log, left out of the two means
     * above: on a shared machine one descheduled call can take 50 ms of wall
     * time and would swamp a few hundred ordinary ones.
     */
    slowCallsExcluded: z.number().int(),
    rows: z.array(commandRowSchema),
    slowlog: z.array(slowlogEntrySchema),
  }),
  cache: z.object({
    hotPrompts: z.array(hotPromptSchema),
    keyspaceHits: z.number(),
    keyspaceMisses: z.number(),
    evictedKeys: z.number(),
    expiredKeys: z.number(),
  }),
  stream: z.object({
    length: z.number(),
    cap: z.number(),
    /** Entries ever added (XINFO STREAM entries-added, all shards). */
    entriesAdded: z.number(),
    /** Over the last interval; null until an earlier reading exists. */
    eventsPerSec: z.number().nullable(),
    /** Unix ms of the oldest entry still kept; null when empty. */
    oldestAt: z.number().nullable(),
    groups: z.array(consumerGroupSchema),
  }),
  /** How the views were read: commands sent and round trips. */
  cost: z.object({ commands: z.number(), roundTrips: z.number() }),
});
export type ValkeyViews = z.infer<typeof valkeyViewsSchema>;

// ---- GET /api/health ----------------------------------------------------

export const healthSchema = z.object({
  /** ok: Valkey answers and the breaker is closed or probing; degraded: it answers but the breaker is open; down: no answer. */
  status: z.enum(["ok", "degraded", "down"]),
  timestamp: z.string(),
  valkey: z.object({
    reachable: z.boolean(),
    /** PING round trip, ms; null when unreachable. */
    roundTripMs: z.number().nullable(),
    error: z.string().optional(),
  }),
  breaker: z.object({
    state: z.enum(["closed", "open", "half-open"]),
    consecutiveFailures: z.number().int(),
    openedAt: z.number().nullable(),
    nextProbeInMs: z.number(),
    threshold: z.number().int(),
    cooldownMs: z.number().int(),
  }),
  /** Callers the in-process fallback limiter remembers. */
  fallback: z.object({ clients: z.number().int() }),
});
export type Health = z.infer<typeof healthSchema>;

// ---- GET/DELETE /api/limits/{identity} ------------------------------------

export const limitsResponseSchema = z.object({
  identity: z.string(),
  tier: z.enum(TIER_NAMES),
  failMode: z.enum(["open", "closed"]),
  timestamp: z.string(),
  limits: z.array(limitDimensionSchema.extend({ used: z.number().int() })),
});
export type LimitsResponse = z.infer<typeof limitsResponseSchema>;

export const limitsResetSchema = z.object({
  identity: z.string(),
  tier: z.enum(TIER_NAMES),
  reset: z.literal(true),
  deletedKeys: z.number().int(),
});

// ---- POST /api/lab --------------------------------------------------------

export const LAB_BOUNDS = {
  limit: { min: 2, max: 100, default: 10 },
  windowMs: { min: 1000, max: 3_600_000, default: 60_000 },
} as const;

export const labRequestSchema = z.object({
  /** Nominal requests per window for every algorithm. */
  limit: z.coerce.number().int().min(LAB_BOUNDS.limit.min).max(LAB_BOUNDS.limit.max).default(LAB_BOUNDS.limit.default),
  /** Window length, ms (simulated: the run takes milliseconds whatever it is). */
  windowMs: z.coerce
    .number()
    .int()
    .min(LAB_BOUNDS.windowMs.min)
    .max(LAB_BOUNDS.windowMs.max)
    .default(LAB_BOUNDS.windowMs.default),
});
export type LabRequest = z.infer<typeof labRequestSchema>;

export const labAlgorithmSchema = z.object({
  algorithm: z.enum(ALGORITHMS),
  label: z.string(),
  /** Requests admitted over the whole run. */
  admitted: z.number().int(),
  /** The most admitted within any span of one window. */
  maxInAnyWindow: z.number().int(),
  /** maxInAnyWindow − limit, at least 0: what it lets through beyond the nominal rate. */
  beyondNominal: z.number().int(),
  /** Admitted out of the two bursts that straddle the first window boundary. */
  boundaryBurstAdmitted: z.number().int(),
  /** Peak MEMORY USAGE of the client's state key, bytes. */
  memoryBytes: z.number().int(),
  /** Valkey type of the state key. */
  keyType: z.string(),
});
export type LabAlgorithm = z.infer<typeof labAlgorithmSchema>;

export const labPointSchema = z.object({
  /** ms since the run's start (a window boundary). */
  t: z.number(),
  /** Requests sent in this bin. */
  sent: z.number().int(),
  /** Admitted in this bin, by algorithm. */
  admitted: z.record(z.enum(ALGORITHMS), z.number().int()),
});
export type LabPoint = z.infer<typeof labPointSchema>;

export const labResultSchema = z.object({
  limit: z.number().int(),
  windowMs: z.number().int(),
  windows: z.number().int(),
  binMs: z.number().int(),
  /** Requests sent per algorithm (the same pattern for all). */
  sent: z.number().int(),
  /** What the pattern is, in words. */
  pattern: z.string(),
  algorithms: z.array(labAlgorithmSchema),
  series: z.array(labPointSchema),
  /** Wall time of the whole run, ms. */
  durationMs: z.number(),
});
export type LabResult = z.infer<typeof labResultSchema>;

// ---- /v1: the OpenAI dialect's answers ------------------------------------
// The request body is chatCompletionRequestSchema in lib/gateway/dialects/openai.ts,
// beside the parsing it drives; lib/gateway/dialects/openai.ts builds these answers.

export const openaiErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    /** OpenAI's error type: invalid_request_error, requests, tokens, server_error… */
    type: z.string(),
    /** The request field at fault, when there is one. */
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAIErrorBody = z.infer<typeof openaiErrorBodySchema>;

const finishReasonSchema = z.enum(["stop", "length", "content_filter", "tool_calls"]);

export const chatUsageSchema = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
});

export const chatCompletionSchema = z.object({
  id: z.string().regex(/^chatcmpl-/),
  object: z.literal("chat.completion"),
  /** Unix s. */
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal("assistant"), content: z.string(), refusal: z.null() }),
      logprobs: z.null(),
      finish_reason: finishReasonSchema,
    }),
  ),
  usage: chatUsageSchema,
  system_fingerprint: z.null(),
});
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

/** One `data:` event of a streamed completion; the stream ends with `data: [DONE]`. */
export const chatCompletionChunkSchema = z.object({
  id: z.string().regex(/^chatcmpl-/),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int(),
  model: z.string(),
  /** Empty in the last chunk, which carries the usage (stream_options.include_usage). */
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({ role: z.literal("assistant").optional(), content: z.string().optional() }),
      logprobs: z.null(),
      finish_reason: finishReasonSchema.nullable(),
    }),
  ),
  /** Only with stream_options.include_usage: null until the last chunk. */
  usage: chatUsageSchema.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;

/** A `data:` event of the stream: a chunk, or the error that ended a stream whose headers were sent. */
export const chatStreamEventSchema = z.union([chatCompletionChunkSchema, openaiErrorBodySchema]);

export const modelListSchema = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({
      id: z.string(),
      object: z.literal("model"),
      /** Unix s. */
      created: z.number().int(),
      owned_by: z.string(),
    }),
  ),
});
export type ModelList = z.infer<typeof modelListSchema>;

// ---- Labels and headers ----------------------------------------------------

/** A caller as the stream and the admin routes name it: `ip:<addr>` (`ip:<net>/<bits>` for IPv6), `key:<12 hex>`, `sim:<tier>:<n>`. */
export const identityLabelSchema = z.string().regex(/^(?:ip|key|sim):\S+$/);

const decimal = z.string().regex(/^\d+$/);
const positive = z.string().regex(/^[1-9]\d*$/);
/** Structured-field list items as lib/gateway/headers.ts writes them, comma separated. */
const itemList = (item: string) => z.string().regex(new RegExp(`^${item}(?:, ${item})*$`));

/** Values of the headers the gateway sets, as lib/gateway/headers.ts and the dialects write them. */
export const gatewayHeaderSchemas = {
  requestId: z.uuid(),
  identity: identityLabelSchema,
  /** A count (limit, remaining). */
  count: decimal,
  /** Unix s. */
  unixSeconds: decimal,
  rateLimitPolicy: itemList(`"[^"]+";q=\\d+;w=\\d+`),
  rateLimit: itemList(`"[^"]+";r=\\d+;t=\\d+`),
  /** A Go-style duration, as OpenAI writes its resets: 350ms, 1s, 1.5s, 6m0s, 1h2m3s. */
  duration: z.string().regex(/^(?:\d{1,3}ms|(?:\d+h)?(?:\d+m)?\d+(?:\.\d{1,3})?s)$/),
  /** Whole seconds (Retry-After) or ms (retry-after-ms), at least 1. */
  wait: positive,
  shouldRetry: z.literal("false"),
  cache: z.enum(["HIT", "MISS", "BYPASS"]),
  coalesced: z.literal("1"),
  degraded: z.literal("fail-open"),
  /** The cache key's first 12 hex digits. */
  cacheKey: z.string().regex(/^[0-9a-f]{12}$/),
  accelBuffering: z.literal("no"),
  /** Set by server.mjs on the routes it serves without Next.js's router (docs/architecture.md, the lean path). */
  path: z.literal("lean"),
} as const;
