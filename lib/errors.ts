/**
 * One error class with a stable code, and one table from code to HTTP status.
 * Route handlers turn a GatewayError into `{ error, code, ...details }`;
 * anything else is logged and answered as a generic 500.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_body: 400,
  /** The socket peer or a trusted X-Forwarded-For hop is not an IP address. */
  invalid_client_address: 400,
  unauthorized: 401,
  forbidden: 403,
  admin_disabled: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  simulator_busy: 429,
  internal: 500,
  valkey_unavailable: 503,
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
