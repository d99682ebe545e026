/**
 * The model behind the gateway, as the core sees it. The pipeline knows no
 * dialect and no provider: it hands an UpstreamRequest to an Upstream and
 * reads back a stream of UpstreamEvents. Two implementations: the built-in
 * simulator (simulator.ts) and any OpenAI-compatible HTTP server
 * (openai-compatible.ts: OpenAI, Ollama, vLLM, LM Studio, llama.cpp).
 *
 * Types only: no I/O, no env, so tests and the dashboard may import it.
 */

/** One message of a conversation, content already flattened to text by the dialect. */
export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string;
  name?: string;
  tool_call_id?: string;
}

/** Sampling parameters that change the answer (and so are part of the cache key). */
export interface GenerationParams {
  temperature?: number;
  top_p?: number;
  stop?: string[];
  seed?: number;
  response_format?: { type: "text" | "json_object" };
  /** The end user's id as the client sent it; forwarded, not part of the cache key. */
  user?: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export type FinishReason = "stop" | "length" | "content_filter" | "tool_calls";

export interface UpstreamRequest {
  /** The model name the client asked for; an upstream maps it to its own (UPSTREAM_MODEL_MAP). */
  model: string;
  messages: ChatMessage[];
  /** Completion budget, tokens: always set (the client's max_tokens, else the plan's budget). */
  maxTokens: number;
  params: GenerationParams;
  /** Aborted when the client goes away or the gateway gives up: the upstream call must stop. */
  signal: AbortSignal;
}

export type UpstreamEvent =
  /** A piece of the answer's text, as soon as the upstream produced it. */
  | { type: "delta"; text: string }
  /** The last event: why it ended, and the upstream's own usage (null when it reported none). */
  | { type: "done"; finishReason: FinishReason; usage: Usage | null; model: string };

export interface UpstreamModel {
  id: string;
  /** Unix seconds. */
  created: number;
  ownedBy: string;
}

export interface Upstream {
  readonly kind: "simulator" | "openai-compatible";
  /** The models this upstream serves (the simulator's list, or the server's GET /models). */
  listModels(signal?: AbortSignal): Promise<UpstreamModel[]>;
  /**
   * Generate one answer as a stream of events ending with exactly one "done".
   * Throws UpstreamError: before the first event (refused, unreachable, timed
   * out) or while iterating (the stream broke or stalled). Breaking out of the
   * iteration, or aborting request.signal, must stop the upstream call.
   */
  generate(request: UpstreamRequest): AsyncIterable<UpstreamEvent>;
}

export type UpstreamErrorKind =
  /** The upstream answered 429: pass it on with its delay. */
  | "rate_limited"
  /** The upstream refused the request as invalid (4xx other than 401/403/404/429). */
  | "bad_request"
  /** The upstream does not serve this model (404). */
  | "model_not_found"
  /** Anything else: 5xx, 401/403 (our upstream key), a broken stream, unreachable. → 502 */
  | "upstream_error"
  /** Connect, first byte or total time ran out. → 504 */
  | "timeout"
  /** request.signal was aborted (the client left): nobody to answer. */
  | "aborted";

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    /** For the log only: may hold library or OS text; never sent to a client. */
    message: string,
    readonly details: {
      /** The upstream's HTTP status, when it answered. */
      status?: number;
      /** From the upstream's retry-after-ms / retry-after, on rate_limited. */
      retryAfterMs?: number;
      /** Which timeout ran out, on timeout. */
      phase?: "connect" | "first_byte" | "idle" | "total";
      /** Completion text produced before a mid-stream failure, tokens (estimated). */
      producedTokens?: number;
    } = {},
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

export function isUpstreamError(value: unknown): value is UpstreamError {
  return value instanceof UpstreamError;
}
