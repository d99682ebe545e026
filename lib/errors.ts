/**
 * One error class with a stable code, and one table from code to HTTP status.
 * Route handlers turn a GatewayError into `{ error, code, ...details }`;
 * anything else is logged and answered as a generic 500.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_body: 400,
  upstream_bad_request: 400,
  /** The socket peer or a trusted X-Forwarded-For hop is not an IP address. */
  invalid_client_address: 400,
  unauthorized: 401,
  forbidden: 403,
  admin_disabled: 403,
  not_found: 404,
  model_not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  upstream_rate_limited: 429,
  simulator_busy: 429,
  internal: 500,
  internal_error: 500,
  upstream_error: 502,
  valkey_unavailable: 503,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "GatewayError";
    this.status = ERROR_STATUS[code];
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

const UPSTREAM_FAILURES = {
  rate_limited: ["upstream_rate_limited", "The model provider is rate-limiting the gateway."],
  model_not_found: ["model_not_found", "The model provider does not serve this model."],
  bad_request: ["upstream_bad_request", "The model provider refused the request as invalid."],
  upstream_error: ["upstream_error", "The model provider failed to answer."],
  timeout: ["upstream_timeout", "The model provider did not answer in time."],
  aborted: ["upstream_error", "The request was cancelled before the model answered."],
} as const;

/**
 * An upstream failure as the client sees it: a stable code and a sentence of
 * our own. The upstream's and the OS's text stays in the log.
 */
export function upstreamFailure(error: import("@/lib/gateway/upstreams/types").UpstreamError, requestId: string): GatewayError {
  const [code, sentence] = UPSTREAM_FAILURES[error.kind];
  const retry = error.details.retryAfterMs;
  if (error.kind !== "aborted") console.warn(`[flowgate] upstream ${error.kind} for request ${requestId}: ${error.message}`);
  return new GatewayError(code, `${sentence}${error.details.phase ? ` (${error.details.phase.replace("_", " ")} timeout)` : ""}`, {
    requestId,
    ...(typeof retry === "number" ? { retryAfterSeconds: Math.max(1, Math.ceil(retry / 1000)), retryAfterMs: retry } : {}),
  });
}
