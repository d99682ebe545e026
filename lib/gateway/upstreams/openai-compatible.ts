import "server-only";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { Agent, type Dispatcher } from "undici";
import {
  UpstreamError,
  type FinishReason,
  type Upstream,
  type UpstreamErrorKind,
  type UpstreamEvent,
  type UpstreamModel,
  type UpstreamRequest,
  type Usage,
} from "./types";

/**
 * Any server that speaks OpenAI's chat completions over HTTP (OpenAI, Ollama,
 * vLLM, LM Studio, llama.cpp). It always asks for a stream, so a whole answer
 * and a streamed one take the same path; the core collects when it must.
 */

export interface OpenAICompatibleOptions {
  /** Up to and including the API version, e.g. http://127.0.0.1:11434/v1. */
  baseUrl: string;
  apiKey?: string;
  /** ms to open the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** ms from the call's start (connect included) to the response headers and the first SSE event. */
  firstByteTimeoutMs: number;
  /** ms the upstream may stay silent between two SSE events once the answer has started. */
  idleTimeoutMs: number;
  /** ms for the whole call. */
  totalTimeoutMs: number;
  /** The model name a client uses → the name the upstream serves it under. */
  modelMap?: Record<string, string>;
}

type TimeoutPhase = "first_byte" | "idle" | "total";

interface ChatCompletionChunk {
  model?: string;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  error?: unknown;
}

interface ModelList {
  data?: { id: string; created?: number; owned_by?: string }[];
}

/** Upstream text quoted in an error's log message, characters. */
const QUOTED_TEXT_LIMIT = 300;

export function createOpenAICompatibleUpstream(options: OpenAICompatibleOptions): Upstream {
  const base = new URL(options.baseUrl.replace(/\/$/, ""));
  const basePath = base.pathname.replace(/\/$/, "");
  // Our own deadlines govern and name their phase, so undici's (300 s each) are off.
  const dispatcher = new Agent({ connect: { timeout: options.connectTimeoutMs }, headersTimeout: 0, bodyTimeout: 0 });
  const authorization: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  // An upstream may echo the key it was sent (e.g. in a 401 body); quoted text never carries it.
  const quote = (text: string) =>
    (options.apiKey ? text.replaceAll(options.apiKey, "[redacted]") : text).slice(0, QUOTED_TEXT_LIMIT);

  // undici's own request API, not its fetch: the answer is read as a Node stream of
  // Buffers, with none of fetch's WHATWG Request, Response and stream objects, which
  // cost more CPU than the rest of the upstream call (measured in the overhead bench).
  async function open(path: string, init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string }, call: Call) {
    call.arm("first_byte", options.firstByteTimeoutMs);
    const response = await dispatcher.request({
      origin: base.origin,
      path: `${basePath}${path}${base.search}`,
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal: call.signal,
    });
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const kind = kindForStatus(response.statusCode);
    const retryAfterMs = kind === "rate_limited" ? readRetryAfterMs(response.headers) : undefined;
    throw new UpstreamError(kind, `upstream answered ${response.statusCode}: ${quote(await response.body.text())}`, {
      status: response.statusCode,
      retryAfterMs,
    });
  }

  async function* generate(request: UpstreamRequest): AsyncGenerator<UpstreamEvent> {
    const model = options.modelMap?.[request.model] ?? request.model;
    const call = startCall(request.signal, options.totalTimeoutMs);
    let producedChars = 0;
    try {
      const response = await open(
        "/chat/completions",
        {
          method: "POST",
          headers: { "content-type": "application/json", accept: "text/event-stream", ...authorization },
          body: JSON.stringify({
            ...request.params,
            model,
            messages: request.messages,
            max_tokens: request.maxTokens,
            stream: true,
            stream_options: { include_usage: true },
          }),
        },
        call,
      );
      const events: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (event) => events.push(event) });
      const decoder = new TextDecoder();
      let started = false;
      let finishReason: FinishReason | undefined;
      let usage: Usage | null = null;
      let reportedModel: string | undefined;
      const done = (): UpstreamEvent => ({
        type: "done",
        finishReason: finishReason ?? "stop",
        usage,
        model: reportedModel ?? model,
      });

      for await (const bytes of response.body as AsyncIterable<Buffer>) {
        call.disarm();
        parser.feed(decoder.decode(bytes, { stream: true }));
        for (const event of events.splice(0)) {
          started = true;
          if (event.data === "[DONE]") {
            yield done();
            return;
          }
          const chunk = parseChunk(event.data, quote);
          reportedModel = chunk.model || reportedModel;
          if (chunk.usage) {
            usage = {
              promptTokens: chunk.usage.prompt_tokens,
              completionTokens: chunk.usage.completion_tokens,
              totalTokens: chunk.usage.total_tokens,
            };
          }
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
          const text = choice?.delta?.content;
          if (text) {
            producedChars += text.length;
            yield { type: "delta", text };
          }
        }
        // The idle clock runs only while we wait for the upstream, not while the consumer holds a delta.
        if (started) call.arm("idle", options.idleTimeoutMs);
      }
      if (!finishReason) throw new UpstreamError("upstream_error", "the stream ended before [DONE] or a finish_reason");
      yield done();
    } catch (error) {
      const failure = call.failure ?? toUpstreamError(error);
      throw new UpstreamError(failure.kind, failure.message, {
        ...failure.details,
        producedTokens: Math.ceil(producedChars / 4),
      });
    } finally {
      call.end();
    }
  }

  async function listModels(signal?: AbortSignal): Promise<UpstreamModel[]> {
    const call = startCall(signal, options.totalTimeoutMs);
    try {
      const response = await open("/models", { method: "GET", headers: authorization }, call);
      const list = (await response.body.json()) as ModelList;
      const models = (list.data ?? []).map((m) => ({ id: m.id, created: m.created ?? 0, ownedBy: m.owned_by ?? "upstream" }));
      const byId = new Map(models.map((m) => [m.id, m]));
      for (const [alias, target] of Object.entries(options.modelMap ?? {})) {
        if (byId.has(alias)) continue;
        const served = byId.get(target);
        byId.set(alias, { id: alias, created: served?.created ?? 0, ownedBy: served?.ownedBy ?? "upstream" });
      }
      return [...byId.values()];
    } catch (error) {
      throw call.failure ?? toUpstreamError(error);
    } finally {
      call.end();
    }
  }

  return { kind: "openai-compatible", listModels, generate };
}

interface Call {
  readonly signal: AbortSignal;
  /** The deadline or abort that ended the call, which outranks whatever error the request then threw. */
  readonly failure: UpstreamError | undefined;
  arm(phase: TimeoutPhase, ms: number): void;
  disarm(): void;
  end(): void;
}

/**
 * The reason an ended call's request is aborted with. A shared one: an abort
 * without a reason builds a DOMException, stack and all, on every call, and
 * the call has ended, so nobody reads it.
 */
const CALL_ENDED = new Error("the upstream call ended");

/** One exchange with the upstream: every deadline, the caller's abort and every exit abort its request. */
function startCall(callerSignal: AbortSignal | undefined, totalTimeoutMs: number): Call {
  const controller = new AbortController();
  let failure: UpstreamError | undefined;
  let phaseTimer: NodeJS.Timeout | undefined;
  const fail = (error: UpstreamError) => {
    failure ??= error;
    controller.abort(error);
  };
  const timeout = (phase: TimeoutPhase, ms: number) => () =>
    fail(new UpstreamError("timeout", `${phase} timeout after ${ms} ms`, { phase }));
  const onAbort = () => fail(new UpstreamError("aborted", "the caller aborted the upstream call"));
  const totalTimer = setTimeout(timeout("total", totalTimeoutMs), totalTimeoutMs);
  if (callerSignal?.aborted) onAbort();
  else callerSignal?.addEventListener("abort", onAbort, { once: true });

  return {
    signal: controller.signal,
    get failure() {
      return failure;
    },
    arm(phase, ms) {
      clearTimeout(phaseTimer);
      phaseTimer = setTimeout(timeout(phase, ms), ms);
    },
    disarm() {
      clearTimeout(phaseTimer);
    },
    end() {
      clearTimeout(totalTimer);
      clearTimeout(phaseTimer);
      callerSignal?.removeEventListener("abort", onAbort);
      controller.abort(CALL_ENDED);
    },
  };
}

function parseChunk(data: string, quote: (text: string) => string): ChatCompletionChunk {
  let chunk: ChatCompletionChunk;
  try {
    chunk = JSON.parse(data) as ChatCompletionChunk;
  } catch {
    throw new UpstreamError("upstream_error", `the stream sent invalid JSON: ${quote(data)}`);
  }
  if (chunk.error !== undefined) {
    throw new UpstreamError("upstream_error", `the stream sent an error: ${quote(JSON.stringify(chunk.error))}`);
  }
  return chunk;
}

// Some servers send reasons of their own; the core knows OpenAI's four.
function toFinishReason(reason: string): FinishReason {
  return reason === "length" || reason === "content_filter" || reason === "tool_calls" ? reason : "stop";
}

function kindForStatus(status: number): UpstreamErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 404) return "model_not_found";
  // 401/403 mean our key is wrong: the gateway's fault, not the client's.
  if (status >= 400 && status < 500 && status !== 401 && status !== 403) return "bad_request";
  return "upstream_error";
}

/** ms, from retry-after-ms, else retry-after (seconds or an HTTP date). */
function readRetryAfterMs(headers: Dispatcher.ResponseData["headers"]): number | undefined {
  const get = (name: string) => {
    const value = headers[name];
    return (Array.isArray(value) ? value[0] : value) ?? null;
  };
  const ms = Number(get("retry-after-ms") ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function toUpstreamError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const cause = error instanceof Error ? error.cause : undefined;
  const message = cause instanceof Error ? `${String(error)}: ${cause.message}` : String(error);
  const code = (error as { code?: string } | null)?.code ?? (cause as { code?: string } | undefined)?.code;
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    return new UpstreamError("timeout", message, { phase: "connect" });
  }
  return new UpstreamError("upstream_error", message);
}
