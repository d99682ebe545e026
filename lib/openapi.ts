import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "@/lib/errors";
import { chatCompletionRequestSchema } from "@/lib/gateway/dialects/openai";
import * as s from "@/lib/schemas";
import packageJson from "@/package.json";

/**
 * The OpenAPI 3.1 description of every route, generated from the zod schemas
 * the routes validate with and the dialects' answers are typed by
 * (lib/schemas.ts, and the OpenAI dialect's request): z.toJSONSchema turns
 * each into a component, and nothing here restates a field. The error bodies
 * per status come from ERROR_STATUS, the table the routes answer from.
 * Served at GET /api/openapi.json and rendered at /docs.
 */

type Json = Record<string, unknown>;
type Meta = { id: string; description?: string };

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

// ---- components.schemas -----------------------------------------------------

/** Request bodies are described as a client sends them: fields with defaults are optional. */
const requestSchemas: Record<string, [z.ZodType, string]> = {
  ChatCompletionRequest: [
    chatCompletionRequestSchema,
    "OpenAI's chat.completions.create body. Parameters OpenAI defines that the gateway does not implement (tools, logprobs, …) are refused with a 400 `unsupported_parameter` that names them; unknown fields are a 400 too.",
  ],
  GenerateRequest: [s.generateRequestSchema, "The generate dialect's body. `model` defaults to DEFAULT_MODEL."],
  SimulateRequest: [s.simulateRequestSchema, "A simulated burst; every field has a default, and the body may be empty."],
  LabRequest: [s.labRequestSchema, "The lab's limit and window; both have defaults."],
};

/** Answers are described as a client receives them. */
const responseSchemas: Record<string, [z.ZodType, string]> = {
  ChatCompletion: [s.chatCompletionSchema, "A chat.completion, as OpenAI shapes it."],
  ChatCompletionChunk: [s.chatCompletionChunkSchema, "One `data:` event of a streamed completion."],
  ChatStreamEvent: [s.chatStreamEventSchema, "A `data:` event: a chunk, or the error that ended a stream whose headers were already sent."],
  ModelList: [s.modelListSchema, "The models the upstream serves."],
  OpenAIError: [s.openaiErrorBodySchema, "Every /v1 error, as OpenAI shapes it: the SDKs turn it into their error classes."],
  LimitDimension: [s.limitDimensionSchema, "One limit of a plan after a decision."],
  GenerateResponse: [s.generateResponseSchema, "The generate dialect's answer, with the rate-limit state in the body."],
  RateLimitedBody: [s.rateLimitedBodySchema, "A refusal by a limit: which one, for whom, and when to retry."],
  SimulateResponse: [s.simulateResponseSchema, "Every simulated request's outcome and the summary."],
  SimulateStreamLine: [s.simulateStreamLineSchema, "One NDJSON line of a streamed simulator run."],
  Stats: [s.statsSchema, "The dashboard's snapshot; `connected: false` while Valkey is away."],
  ValkeyViews: [s.valkeyViewsSchema, "What Valkey does under the hood; `connected: false` while Valkey is away."],
  Health: [s.healthSchema, "Valkey's reachability, the circuit breaker and the fallback limiter."],
  LabResult: [s.labResultSchema, "One burst pattern through all four limiters."],
  LimitsResponse: [s.limitsResponseSchema, "What is left of every limit of one identity."],
  LimitsReset: [s.limitsResetSchema, "The identity's limits after a reset."],
  ...Object.fromEntries(errorStatuses().map((status) => [`ApiError${status}`, [apiErrorSchema(status), apiErrorDescription(status)]])),
};

function errorStatuses(): number[] {
  return [...new Set(Object.values(ERROR_STATUS))].sort((a, b) => a - b);
}

function codesWith(status: number, except: ErrorCode[] = []): [ErrorCode, ...ErrorCode[]] {
  return (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((c) => ERROR_STATUS[c] === status && !except.includes(c)) as [ErrorCode, ...ErrorCode[]];
}

/** An /api error body for one status: its code is one of the codes ERROR_STATUS maps to it; a limit's refusal says more. */
function apiErrorSchema(status: number): z.ZodType {
  const body = s.errorBodySchema.extend({ code: z.enum(codesWith(status, status === 429 ? ["rate_limited"] : [])) });
  return status === 429 ? z.union([s.rateLimitedBodySchema, body]) : body;
}

function apiErrorDescription(status: number): string {
  return `An /api error with status ${status}: \`{error, code, …details}\`, code one of ${codesWith(status).map((c) => `\`${c}\``).join(", ")}.`;
}

/** Drop what JSON Schema needs standalone but a component must not carry, and zod's safe-integer bounds (noise to a reader). */
function tidy(ctx: { jsonSchema: Json }): void {
  const j = ctx.jsonSchema;
  if (j.minimum === Number.MIN_SAFE_INTEGER) delete j.minimum;
  if (j.maximum === Number.MAX_SAFE_INTEGER) delete j.maximum;
}

function convert(entries: Record<string, [z.ZodType, string]>, io: "input" | "output"): Record<string, Json> {
  const registry = z.registry<Meta>();
  for (const [id, [schema, description]] of Object.entries(entries)) registry.add(schema, { id, description });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    metadata: registry,
    uri: (id) => `#/components/schemas/${id}`,
    override: tidy as never,
  });
  // Shared $defs would need a home of their own; with `reused: "inline"` (the default) zod makes none.
  if ("__shared" in schemas) throw new Error("lib/openapi.ts: zod extracted shared definitions; register the shared schema by name");
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _schema, $id: _id, ...rest }]) => [id, rest as Json]),
  );
}

/** One value schema, standalone (headers and parameters). */
function schemaOf(schema: z.ZodType, io: "input" | "output" = "output"): Json {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io, override: tidy as never }) as Json;
  return rest;
}

// ---- headers ---------------------------------------------------------------

const h = s.gatewayHeaderSchemas;

const HEADERS: Record<string, [z.ZodType, string]> = {
  "x-request-id": [h.requestId, "The request's id, also in its stream event and the log."],
  "x-flowgate-identity": [h.identity, "The caller's label: `ip:…`, `key:<12 hex>`."],
  "X-RateLimit-Limit": [h.count, "The request dimension's limit per window (TokenFlow-compatible)."],
  "X-RateLimit-Remaining": [h.count, "Requests left in the window."],
  "X-RateLimit-Reset": [h.unixSeconds, "When the next request frees up, Unix s."],
  "RateLimit-Policy": [h.rateLimitPolicy, 'IETF structured field, one item per dimension: `"name";q=limit;w=window-s`.'],
  RateLimit: [h.rateLimit, 'IETF structured field, one item per dimension: `"name";r=remaining;t=seconds-until-reset`.'],
  "x-ratelimit-limit-requests": [h.count, "OpenAI's name for the request limit."],
  "x-ratelimit-remaining-requests": [h.count, "OpenAI's name for the requests left."],
  "x-ratelimit-reset-requests": [h.duration, "Until the next request frees up, as a Go duration (`350ms`, `59.999s`, `1m22.673s`)."],
  "x-ratelimit-limit-tokens": [h.count, "The token limit; only when the plan has one."],
  "x-ratelimit-remaining-tokens": [h.count, "Tokens left; only when the plan has a token limit."],
  "x-ratelimit-reset-tokens": [h.duration, "Until the next token frees up, as a Go duration."],
  "Retry-After": [h.wait, "Seconds until a retry can succeed: the refusing policy's wait, or the circuit breaker's next probe."],
  "retry-after-ms": [h.wait, "The same in ms, which openai-node prefers."],
  "x-should-retry": [h.shouldRetry, "Waiting cannot help: the request costs more than the whole limit, or (on /v1) the wait is 60 s or more."],
  "X-Cache": [h.cache, "`HIT`, `MISS`, or `BYPASS` (the client sent `Cache-Control: no-cache`, or Valkey was away and the fallback limiter served it)."],
  "x-flowgate-coalesced": [h.coalesced, "Answered by another request's generation of the same prompt."],
  "x-flowgate-degraded": [h.degraded, "Valkey unreachable: limited by this instance's in-process fallback limiter, no cache."],
  "x-flowgate-cache-key": [h.cacheKey, "The cache key's first 12 hex digits."],
  "X-Accel-Buffering": [h.accelBuffering, "On streams: proxies such as nginx must pass each piece on as it comes."],
  "x-flowgate-path": [h.path, "`lean`: served by server.mjs without Next.js's router (absent with `FLOWGATE_LEAN_PATH=0` and under `npm run dev`)."],
};

type HeaderName = keyof typeof HEADERS;

/** Header objects: names marked `!` are always sent, the others when they apply. */
function headers(...names: string[]): Json {
  return Object.fromEntries(
    names.map((mark) => {
      const required = mark.endsWith("!");
      const name = (required ? mark.slice(0, -1) : mark) as HeaderName;
      const [schema, description] = HEADERS[name]!;
      return [name, { description, required, schema: schemaOf(schema) }];
    }),
  );
}

const LIMIT_HEADERS = [
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "RateLimit-Policy",
  "RateLimit",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
];
const TOKEN_HEADERS = ["x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"];
const must = (names: string[]) => names.map((n) => `${n}!`);

/** A decided request's answer (200): who, the limits after it, and the cache's part. */
const answered = [
  "x-request-id!",
  "x-flowgate-identity!",
  ...must(LIMIT_HEADERS),
  ...TOKEN_HEADERS,
  "X-Cache!",
  "x-flowgate-coalesced",
  "x-flowgate-degraded",
  "x-flowgate-path",
];
/**
 * A refusal (429): by a limit (with the limits), by the wrong-key counter or the
 * simulator (without), or passed on from the upstream (with a wait when it gave one).
 */
const refused = ["Retry-After", "x-request-id", "x-flowgate-identity", ...LIMIT_HEADERS, ...TOKEN_HEADERS, "x-should-retry", "x-flowgate-degraded", "x-flowgate-path"];

// ---- responses ---------------------------------------------------------------

const json = (schema: Json) => ({ "application/json": { schema } });

/**
 * A streamed body: OpenAPI 3.1 has no schema for one event of a sequence
 * (3.2 adds `itemSchema`), so each event's schema is named in `x-item-schema`.
 */
const streamOf = (item: string, description: string) => ({
  schema: { type: "string", description },
  "x-item-schema": ref(item),
});

function apiErrors(...statuses: number[]): Json {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: apiErrorDescription(status),
        ...(status === 429 ? { headers: headers(...refused) } : status === 503 ? { headers: headers("Retry-After!") } : {}),
        content: json(ref(`ApiError${status}`)),
      },
    ]),
  );
}

function openaiErrors(...statuses: number[]): Json {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: `A /v1 error with status ${status}, in OpenAI's shape.`,
        headers:
          status === 429
            ? headers(...refused, "retry-after-ms")
            : status === 503
              ? headers("Retry-After!", "retry-after-ms!", "x-request-id", "x-flowgate-identity")
              : status >= 500
                ? headers("x-request-id", "Retry-After", "retry-after-ms")
                : {},
        content: json(ref("OpenAIError")),
      },
    ]),
  );
}

const ok = (description: string, schema: string, extra: Json = {}) => ({ description, content: json(ref(schema)), ...extra });
const body = (schema: string, required = true) => ({ required, content: json(ref(schema)) });

/** This document's outline, for its own entry (its full schema is OpenAPI's). */
const documentSchema = z.looseObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.looseObject({})),
  components: z.looseObject({}),
});

const cacheControlParameter = {
  name: "Cache-Control",
  in: "header",
  required: false,
  description:
    "What the prompt cache may do: `no-cache` (do not answer from the cache; the fresh answer replaces the entry), `no-store` (do not keep this answer), `max-age=N` (only an entry at most N s old may answer). Other directives are ignored.",
  schema: { type: "string" },
};

const callerSecurity = [{}, { apiKey: [] }, { apiKeyHeader: [] }];
const viewerSecurity = [{}, { adminToken: [] }, { adminTokenHeader: [] }];
const adminSecurity = [{ adminToken: [] }, { adminTokenHeader: [] }];

function paths(requests: Record<string, Json>): Json {
  const labQuery = Object.entries((requests.LabRequest!.properties ?? {}) as Record<string, Json>).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    schema,
  }));
  return {
    "/v1/chat/completions": {
      post: {
        tags: ["OpenAI dialect"],
        operationId: "createChatCompletion",
        summary: "Create a chat completion",
        description:
          "What the `openai` SDKs call. The caller is identified (API key, else address), checked against its plan's limits, answered from the prompt cache when the same request was answered before, and logged, in one atomic Valkey call. With `stream: true` the answer is Server-Sent Events.",
        security: callerSecurity,
        parameters: [cacheControlParameter],
        requestBody: body("ChatCompletionRequest"),
        responses: {
          200: {
            description: "The completion: whole (JSON), or with `stream: true` as Server-Sent Events.",
            headers: headers(...answered, "x-flowgate-cache-key!", "X-Accel-Buffering"),
            content: {
              ...json(ref("ChatCompletion")),
              "text/event-stream": streamOf(
                "ChatStreamEvent",
                "Server-Sent Events: each `data:` line holds a ChatStreamEvent (a chat.completion.chunk; with stream_options.include_usage a last chunk with the usage), then `data: [DONE]`.",
              ),
            },
          },
          ...openaiErrors(400, 401, 404, 413, 415, 429, 500, 502, 503, 504),
        },
      },
    },
    "/v1/models": {
      get: {
        tags: ["OpenAI dialect"],
        operationId: "listModels",
        summary: "List the models",
        description: "The simulator's models, or the upstream server's list.",
        security: callerSecurity,
        responses: { 200: ok("The models.", "ModelList"), ...openaiErrors(401, 429, 502, 504) },
      },
    },
    "/api/generate": {
      post: {
        tags: ["Generate dialect"],
        operationId: "generate",
        summary: "Generate an answer to a prompt",
        description: "The generate dialect's door into the same core as /v1/chat/completions: the same identity, limits, cache and stream event.",
        security: callerSecurity,
        parameters: [cacheControlParameter],
        requestBody: body("GenerateRequest"),
        responses: {
          200: ok("The answer, with the limits after this request.", "GenerateResponse", { headers: headers(...answered) }),
          ...apiErrors(400, 401, 404, 413, 415, 429, 500, 502, 503, 504),
        },
      },
    },
    "/api/stats": {
      get: {
        tags: ["Dashboard"],
        operationId: "readStats",
        summary: "Read the dashboard's snapshot",
        description:
          "A fixed number of Valkey commands whatever the key count. In production caller addresses are masked (IPv4 /24, IPv6 /48) unless the request carries the admin token.",
        security: viewerSecurity,
        responses: { 200: ok("The snapshot.", "Stats"), ...apiErrors(500) },
      },
    },
    "/api/valkey": {
      get: {
        tags: ["Dashboard"],
        operationId: "readValkeyViews",
        summary: "Read what Valkey does under the hood",
        description:
          "Memory and TTLs, command cost, hot prompts and evictions, stream health and consumer lag. In production prompt previews are left out unless the request carries the admin token.",
        security: viewerSecurity,
        responses: { 200: ok("The views.", "ValkeyViews"), ...apiErrors(500) },
      },
    },
    "/api/simulate": {
      post: {
        tags: ["Dashboard"],
        operationId: "simulate",
        summary: "Run the load simulator",
        description:
          "A burst of simulated requests through the same core, in-process. Few runs at once (SIMULATE_MAX_RUNS) and a few per caller per minute (SIMULATE_RUNS_PER_MINUTE). Send `Accept: application/x-ndjson` for one line per settled request, then the summary.",
        security: callerSecurity,
        requestBody: body("SimulateRequest", false),
        responses: {
          200: {
            description: "The run: whole (JSON), or as NDJSON with `Accept: application/x-ndjson`.",
            headers: headers("X-Accel-Buffering"),
            content: {
              ...json(ref("SimulateResponse")),
              "application/x-ndjson": streamOf("SimulateStreamLine", "Newline-delimited JSON: each line is a SimulateStreamLine (start, progress…, then done or error)."),
            },
          },
          ...apiErrors(400, 401, 413, 415, 429, 500),
        },
      },
    },
    "/api/health": {
      get: {
        tags: ["Operations"],
        operationId: "checkHealth",
        summary: "Check health",
        description: "A timed PING to Valkey (past the circuit breaker) and the breaker's state.",
        responses: {
          200: ok("Valkey answers and the breaker is closed or probing.", "Health"),
          503: ok("Valkey does not answer, or the breaker is open.", "Health"),
        },
      },
    },
    "/api/metrics": {
      get: {
        tags: ["Operations"],
        operationId: "readMetrics",
        summary: "Read this process's Prometheus metrics",
        responses: {
          200: {
            description: "Prometheus text exposition (version 0.0.4) of this process's metrics.",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
    "/api/lab": {
      get: {
        tags: ["Operations"],
        operationId: "runLab",
        summary: "Run the algorithm lab",
        description:
          "The same burst pattern through all four limiters, on a simulated clock and private keys. One run at a time; its result is served for a few seconds to whoever asks the same.",
        parameters: labQuery,
        responses: { 200: ok("The run.", "LabResult"), ...apiErrors(400, 500, 503) },
      },
      post: {
        tags: ["Operations"],
        operationId: "runLabPost",
        summary: "Run the algorithm lab (body)",
        description: "As GET, with the parameters in a JSON body.",
        requestBody: body("LabRequest", false),
        responses: { 200: ok("The run.", "LabResult"), ...apiErrors(400, 413, 415, 500, 503) },
      },
    },
    "/api/limits/{identity}": {
      parameters: [
        {
          name: "identity",
          in: "path",
          required: true,
          description: "A caller as the stream names it: `ip:<address>` (`ip:<network>/<bits>` for IPv6), `key:<12-hex hash of a configured key>`, `sim:<tier>:<n>`; never a raw key.",
          schema: schemaOf(s.identityLabelSchema),
        },
      ],
      get: {
        tags: ["Admin"],
        operationId: "readLimits",
        summary: "Read what is left of one caller's limits",
        description: "Without consuming anything. Needs ADMIN_TOKEN; with it unset the route answers 403 `admin_disabled`.",
        security: adminSecurity,
        responses: { 200: ok("Every limit of the caller's plan.", "LimitsResponse"), ...apiErrors(401, 403, 404, 500, 503) },
      },
      delete: {
        tags: ["Admin"],
        operationId: "resetLimits",
        summary: "Reset one caller's limits",
        description: "Deletes the caller's limit keys under every algorithm. Needs ADMIN_TOKEN.",
        security: adminSecurity,
        responses: { 200: ok("The reset.", "LimitsReset"), ...apiErrors(401, 403, 404, 500, 503) },
      },
    },
    "/api/openapi.json": {
      get: {
        tags: ["Operations"],
        operationId: "readOpenApi",
        summary: "Read this document",
        description: "Static per build: cache it, and revalidate with If-None-Match.",
        responses: {
          200: {
            description: "This OpenAPI 3.1 document.",
            headers: {
              ETag: { description: "The document's digest.", required: true, schema: { type: "string" } },
              "Cache-Control": { description: "How long a copy may be used without asking.", required: true, schema: { type: "string" } },
            },
            content: json(schemaOf(documentSchema)),
          },
          304: { description: "The copy whose ETag was sent in If-None-Match is current." },
        },
      },
    },
  };
}

const DESCRIPTION = `An AI-API gateway on Valkey: every request is identified (API key, else address), checked against its plan's limits, answered from a prompt cache when the same question was asked before, and logged, in one atomic Valkey call.

Two doors lead into one core: the OpenAI dialect at \`/v1\` (point any OpenAI SDK at \`<this server>/v1\`) and the generate dialect at \`/api/generate\`. Errors on \`/v1\` are OpenAI's \`{"error": {"message", "type", "param", "code"}}\`; on \`/api\` they are \`{"error": "<sentence>", "code": "<code>", …details}\`. An unknown path answers 404 in its dialect's shape, a method a route does not serve 405 with \`Allow\`.

Generated from the zod schemas the routes validate with; see docs/api.md for examples.`;

let built: Json | undefined;

/** The document; built once per process (it depends on nothing but the code). */
export function openApiDocument(): Json {
  if (built) return built;
  const requests = convert(requestSchemas, "input");
  const responses = convert(responseSchemas, "output");
  built = {
    openapi: "3.1.1",
    info: { title: "Flowgate", version: packageJson.version, description: DESCRIPTION },
    servers: [{ url: "/", description: "This Flowgate instance" }],
    tags: [
      { name: "OpenAI dialect", description: "OpenAI's chat completions API, for the `openai` SDKs." },
      { name: "Generate dialect", description: "`{prompt}` in, one JSON answer with the limits in the body." },
      { name: "Dashboard", description: "What the dashboard reads, and its simulator." },
      { name: "Operations", description: "Health, metrics, the algorithm lab, this document." },
      { name: "Admin", description: "Per-caller limits; needs ADMIN_TOKEN." },
    ],
    paths: paths(requests),
    components: {
      schemas: { ...requests, ...responses },
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description: "A key from API_KEYS: its plan sets the limits. Without one the caller is identified by its address (the anonymous plan); an unknown key is a 401, and too many from one address a 429.",
        },
        apiKeyHeader: { type: "apiKey", in: "header", name: "x-api-key", description: "The same key in `x-api-key`." },
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN (16+ characters): no token is a 401, a wrong one a 403." },
        adminTokenHeader: { type: "apiKey", in: "header", name: "x-admin-token", description: "The same token in `x-admin-token`." },
      },
    },
  };
  return built;
}
