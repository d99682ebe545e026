import "server-only";
import { z } from "zod";
import { ERROR_STATUS, GatewayError, isGatewayError, upstreamFailure, type ErrorCode } from "@/lib/errors";
import { parseCacheControl } from "@/lib/gateway/cache-control";
import { limitHeaders } from "@/lib/gateway/headers";
import type { Identity } from "@/lib/gateway/identity";
import type { GatewayRequest, GatewayResult } from "@/lib/gateway/pipeline";
import { cacheTag } from "@/lib/gateway/prompt-cache";
import type { CachedEntry } from "@/lib/gateway/store";
import { isUpstreamError, type ChatMessage, type GenerationParams, type UpstreamModel } from "@/lib/gateway/upstreams/types";
import { refusalMessage, unavailableSentence } from "@/lib/gateway/dialects/generate";
import { jsonResponse } from "@/lib/http";
import type { ChatCompletion, ChatCompletionChunk, ModelList, OpenAIErrorBody } from "@/lib/schemas";

/**
 * The OpenAI chat-completions dialect, what real apps and SDKs speak:
 * parse a `chat.completions.create` body, shape a `chat.completion` (or its
 * Server-Sent Events of `chat.completion.chunk`), and answer every error as
 * `{"error": {message, type, param, code}}` with the headers openai-node
 * reads (retry-after, retry-after-ms, x-should-retry, x-ratelimit-*).
 * Anything the gateway does not implement is a 400 that names it, never
 * silently ignored.
 */

const MODEL_NAME = /^[A-Za-z0-9._:/@-]{1,128}$/;
const MAX_MESSAGES = 256;

const textPart = z.object({ type: z.literal("text"), text: z.string() });
/** Content as OpenAI allows it: a string, or parts; only text parts are served here. */
const content = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content, name: z.string().max(64).optional() }),
  z.object({ role: z.literal("developer"), content, name: z.string().max(64).optional() }),
  z.object({ role: z.literal("user"), content, name: z.string().max(64).optional() }),
  z.object({
    role: z.literal("assistant"),
    content: content.nullish(),
    name: z.string().max(64).optional(),
    refusal: z.string().nullish(),
  }),
  z.object({ role: z.literal("tool"), content, tool_call_id: z.string().min(1).max(128) }),
]);

/** Parameters OpenAI defines that this gateway does not implement: refused by name. */
const UNSUPPORTED = [
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "functions",
  "function_call",
  "logprobs",
  "top_logprobs",
  "logit_bias",
  "presence_penalty",
  "frequency_penalty",
  "audio",
  "modalities",
  "prediction",
  "web_search_options",
  "reasoning_effort",
  "service_tier",
  "store",
  "metadata",
] as const;

export const chatCompletionRequestSchema = z.strictObject({
  model: z.string({ error: "model is required" }).regex(MODEL_NAME, "model must be 1-128 letters, digits, . _ : / @ or -"),
  messages: z
    .array(message, { error: "messages must be an array of {role, content} objects" })
    .min(1, "messages must not be empty")
    .max(MAX_MESSAGES, `at most ${MAX_MESSAGES} messages`),
  max_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  max_completion_tokens: z.number().int().min(1).max(1_000_000).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4, "stop takes at most 4 sequences")]).nullish(),
  seed: z.number().int().nullish(),
  user: z.string().max(256).optional(),
  n: z.literal(1, "only n = 1 is supported: one choice per request").nullish(),
  response_format: z
    .object({ type: z.enum(["text", "json_object"], "response_format.type must be text or json_object (json_schema is not supported)") })
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  // Declared so the strict object names them as unsupported (below), not as unknown.
  ...Object.fromEntries(UNSUPPORTED.map((k) => [k, z.unknown().optional()])),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** Flatten content to text; a part that is not text (an image, audio, a file) is refused. */
function textOf(value: z.infer<typeof content> | null | undefined, at: string): string {
  if (value == null) return "";
  if (typeof value === "string") return value;
  return value
    .map((part, i) => {
      const parsed = textPart.safeParse(part);
      if (!parsed.success) {
        throw new GatewayError("invalid_body", `${at}.content[${i}]: only text content parts are supported (got ${JSON.stringify(part.type).slice(0, 40)})`, {
          param: `${at}.content`,
        });
      }
      return parsed.data.text;
    })
    .join("");
}

/** The core's request from a validated body. */
export function fromChatCompletion(
  body: ChatCompletionRequest,
  identity: Identity,
  headers: Headers,
  signal?: AbortSignal,
): GatewayRequest {
  const given = body as Record<string, unknown>;
  for (const key of UNSUPPORTED) {
    if (given[key] !== undefined && given[key] !== null) {
      throw new GatewayError("invalid_body", `${key} is not supported by this gateway`, { param: key, code: "unsupported_parameter" });
    }
  }
  if (body.max_tokens != null && body.max_completion_tokens != null && body.max_tokens !== body.max_completion_tokens) {
    throw new GatewayError("invalid_body", "send max_tokens or max_completion_tokens, not two different values", {
      param: "max_completion_tokens",
    });
  }
  if (body.stream_options && !body.stream) {
    throw new GatewayError("invalid_body", "stream_options is only allowed with stream: true", { param: "stream_options" });
  }
  const messages: ChatMessage[] = body.messages.map((m, i) => ({
    role: m.role,
    content: textOf(m.content, `messages[${i}]`),
    ...("name" in m && m.name ? { name: m.name } : {}),
    ...("tool_call_id" in m ? { tool_call_id: m.tool_call_id } : {}),
  }));
  const params: GenerationParams = {};
  if (body.temperature != null) params.temperature = body.temperature;
  if (body.top_p != null) params.top_p = body.top_p;
  if (body.stop != null) params.stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  if (body.seed != null) params.seed = body.seed;
  if (body.response_format != null) params.response_format = body.response_format;
  if (body.user !== undefined) params.user = body.user;
  return {
    door: "openai",
    identity,
    model: body.model,
    messages,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? null,
    params,
    cache: parseCacheControl(headers.get("cache-control")),
    signal,
  };
}

// ---- errors ---------------------------------------------------------------

/** Flowgate's error code → OpenAI's error `type` and `code`; the status comes from ERROR_STATUS. */
const OPENAI_ERRORS: Partial<Record<ErrorCode, { type: string; code: string | null }>> = {
  invalid_json: { type: "invalid_request_error", code: "invalid_json" },
  invalid_body: { type: "invalid_request_error", code: null },
  upstream_bad_request: { type: "invalid_request_error", code: "upstream_bad_request" },
  unauthorized: { type: "invalid_request_error", code: "invalid_api_key" },
  forbidden: { type: "permission_error", code: null },
  not_found: { type: "invalid_request_error", code: "unknown_url" },
  model_not_found: { type: "invalid_request_error", code: "model_not_found" },
  method_not_allowed: { type: "invalid_request_error", code: "method_not_allowed" },
  payload_too_large: { type: "invalid_request_error", code: "request_too_large" },
  unsupported_media_type: { type: "invalid_request_error", code: "unsupported_media_type" },
  rate_limited: { type: "requests", code: "rate_limit_exceeded" },
  upstream_rate_limited: { type: "rate_limit_error", code: "upstream_rate_limited" },
  upstream_error: { type: "server_error", code: "upstream_error" },
  upstream_timeout: { type: "server_error", code: "upstream_timeout" },
  valkey_unavailable: { type: "server_error", code: "service_unavailable" },
};

export function openaiErrorBody(message: string, type: string, code: string | null, param: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) => jsonResponse(body, { status, headers });

/** Any error as OpenAI's shape. Unknown errors are logged and answered without their text. */
export function openaiErrorResponse(error: unknown, requestId?: string, headers: Record<string, string> = {}): Response {
  const failure = isUpstreamError(error) ? upstreamFailure(error, requestId ?? "") : error;
  if (!isGatewayError(failure)) {
    console.error(`[flowgate] unexpected error${requestId ? ` in request ${requestId}` : ""}`, failure);
    return json(openaiErrorBody("The gateway failed to handle this request; the failure is logged.", "server_error", "internal_error"), 500, {
      ...(requestId ? { "x-request-id": requestId } : {}),
      ...headers,
    });
  }
  const shape = OPENAI_ERRORS[failure.code] ?? { type: failure.status >= 500 ? "server_error" : "invalid_request_error", code: failure.code };
  const details = failure.details;
  const param = typeof details.param === "string" ? details.param : firstIssuePath(details.issues);
  const code = typeof details.code === "string" ? details.code : shape.code;
  const extra: Record<string, string> = {};
  const retryMs =
    typeof details.retryAfterMs === "number"
      ? details.retryAfterMs
      : typeof details.retryAfterSeconds === "number"
        ? details.retryAfterSeconds * 1000
        : null;
  if (retryMs !== null) {
    extra["retry-after"] = String(Math.max(1, Math.ceil(retryMs / 1000)));
    extra["retry-after-ms"] = String(Math.max(1, Math.round(retryMs)));
  }
  const id = requestId ?? (typeof details.requestId === "string" ? details.requestId : undefined);
  if (id) extra["x-request-id"] = id;
  if (failure.code === "method_not_allowed" && Array.isArray(details.allow)) extra.Allow = details.allow.join(", ");
  return json(openaiErrorBody(failure.message, shape.type, code, param), ERROR_STATUS[failure.code], { ...extra, ...headers });
}

function firstIssuePath(issues: unknown): string | null {
  if (!Array.isArray(issues) || issues.length === 0) return null;
  const path = (issues[0] as { path?: unknown }).path;
  return typeof path === "string" && path !== "(body)" ? path : null;
}

/** openai-node honours a retry delay below 60 s; a longer one is better not retried at all. */
const SDK_MAX_RETRY_MS = 60_000;

// ---- answers --------------------------------------------------------------

const completionId = (requestId: string) => `chatcmpl-${requestId.replace(/-/g, "")}`;

function usageOf(entry: Pick<CachedEntry, "usage">) {
  return {
    prompt_tokens: entry.usage.promptTokens,
    completion_tokens: entry.usage.completionTokens,
    total_tokens: entry.usage.totalTokens,
  };
}

/** Shape a pipeline result as a chat.completion, a stream of chunks, or an OpenAI error. */
export async function shapeChatCompletion(
  result: GatewayResult,
  options: { stream: boolean; includeUsage: boolean; now: number; onCancel: () => void },
): Promise<Response> {
  const { now } = options;
  const base: Record<string, string> = { "x-request-id": result.requestId, "x-flowgate-identity": result.identity.id };
  if (result.kind === "unavailable") {
    const retryAfterSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    // retry-after-ms to the millisecond: the breaker's next probe, as the pipeline measured it.
    return openaiErrorResponse(
      new GatewayError("valkey_unavailable", unavailableSentence(result.error), { retryAfterSeconds, retryAfterMs: result.retryAfterMs }),
      result.requestId,
      base,
    );
  }
  const d = result.decision;
  const limits = limitHeaders(d.dimensions, d, now);
  if (result.kind === "blocked") {
    const retryAfterSeconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    const refused = d.refused ?? d.dimensions[0];
    const hopeless = result.neverFits || d.retryAfterMs >= SDK_MAX_RETRY_MS;
    return json(
      openaiErrorBody(refusalMessage(result, retryAfterSeconds), refused?.kind === "tokens" ? "tokens" : "requests", "rate_limit_exceeded"),
      429,
      {
        ...base,
        // limits carries Retry-After (s); openai-node reads retry-after-ms first.
        ...limits,
        "retry-after-ms": String(Math.max(1, Math.ceil(d.retryAfterMs))),
        ...(hopeless ? { "x-should-retry": "false" } : {}),
        ...(result.degraded ? { "x-flowgate-degraded": "fail-open" } : {}),
      },
    );
  }

  const headers = {
    ...base,
    ...limits,
    "x-cache": result.kind === "degraded" ? "BYPASS" : result.cacheStatus,
    "x-flowgate-cache-key": cacheTag(result.promptHash),
    ...(result.kind !== "degraded" && result.coalesced ? { "x-flowgate-coalesced": "1" } : {}),
    ...(result.kind === "degraded" ? { "x-flowgate-degraded": "fail-open" } : {}),
  };
  const { generation } = result;
  const created = Math.floor(now / 1000);
  const id = completionId(result.requestId);

  if (!options.stream) {
    let entry: CachedEntry;
    try {
      entry = await generation.done;
    } catch (error) {
      return openaiErrorResponse(error, result.requestId, base);
    }
    return json(
      {
        id,
        object: "chat.completion",
        created,
        model: entry.model,
        choices: [
          { index: 0, message: { role: "assistant", content: entry.response, refusal: null }, logprobs: null, finish_reason: entry.finishReason ?? "stop" },
        ],
        usage: usageOf(entry),
        system_fingerprint: null,
      } satisfies ChatCompletion,
      200,
      headers,
    );
  }

  // Wait for the first piece, so a refusal before any output is still a proper HTTP error.
  await generation.started();
  if (generation.failure() && generation.producedText() === "") return openaiErrorResponse(generation.failure(), result.requestId, base);

  const encoder = new TextEncoder();
  type Choice = ChatCompletionChunk["choices"][number];
  const chunk = (delta: Choice["delta"], finish: Choice["finish_reason"], modelName: string) =>
    encoder.encode(
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model: modelName,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(options.includeUsage ? { usage: null } : {}),
      } satisfies ChatCompletionChunk)}\n\n`,
    );
  const pieces = generation.text();
  let first = true;
  // Set once the client is gone: a pull still waiting on the generation must not write to a closed stream.
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await pieces.next();
        if (cancelled) return;
        if (!next.done) {
          controller.enqueue(chunk(first ? { role: "assistant", content: next.value } : { content: next.value }, null, result.model));
          first = false;
          return;
        }
        const entry = await generation.done;
        if (cancelled) return;
        if (first) controller.enqueue(chunk({ role: "assistant", content: "" }, null, entry.model));
        controller.enqueue(chunk({}, entry.finishReason ?? "stop", entry.model));
        if (options.includeUsage) {
          controller.enqueue(
            encoder.encode(
              `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: entry.model, choices: [], usage: usageOf(entry) } satisfies ChatCompletionChunk)}\n\n`,
            ),
          );
        }
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
      } catch (error) {
        if (cancelled) return;
        // Headers are sent: the failure goes in the stream, as OpenAI sends it, and the stream ends.
        const failure = isUpstreamError(error) ? upstreamFailure(error, result.requestId) : error;
        const message = isGatewayError(failure) ? failure.message : "The gateway failed while streaming; the failure is logged.";
        if (!isGatewayError(failure)) console.error(`[flowgate] stream failed in request ${result.requestId}`, failure);
        const code = isGatewayError(failure) ? (OPENAI_ERRORS[failure.code]?.code ?? failure.code) : "internal_error";
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(openaiErrorBody(message, "server_error", code))}\n\n`));
        controller.close();
      }
    },
    cancel() {
      cancelled = true;
      options.onCancel();
      void pieces.return(undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      ...headers,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}

/** GET /v1/models: the upstream's list as OpenAI shapes it. */
export function modelList(models: UpstreamModel[]): ModelList {
  return {
    object: "list",
    data: models.map((m) => ({ id: m.id, object: "model", created: m.created, owned_by: m.ownedBy })),
  };
}
