import "server-only";
import type { z } from "zod";
import { GatewayError, isGatewayError } from "@/lib/errors";

/**
 * Request parsing and error answers shared by the route handlers: JSON only,
 * size-limited before the body is read whole, validated with a zod schema.
 */

export function jsonResponse(body: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...init.headers },
  });
}

export function errorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  if (isGatewayError(error)) {
    // A 503 is temporary by nature, and a refusal with a known wait says when: tell clients when to come back.
    const wait = error.details.retryAfterSeconds;
    const extra: Record<string, string> =
      typeof wait === "number" ? { "Retry-After": String(wait) } : error.status === 503 ? { "Retry-After": "1" } : {};
    return jsonResponse(
      { error: error.message, code: error.code, ...error.details },
      { status: error.status, headers: { ...extra, ...headers } },
    );
  }
  console.error("[flowgate] unexpected error", error);
  return jsonResponse({ error: "Internal error", code: "internal" }, { status: 500, headers });
}

/** A 405 handler for every method a route does not serve. */
export function methodNotAllowed(allow: string[]): () => Response {
  return () =>
    jsonResponse(
      { error: `Method not allowed. Use ${allow.join(" or ")}.`, code: "method_not_allowed", allow },
      { status: 405, headers: { Allow: allow.join(", ") } },
    );
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Read the body as text, stopping as soon as it exceeds maxBytes. */
async function readLimited(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw new GatewayError("payload_too_large", `Request body is larger than ${maxBytes} bytes`, { maxBytes });
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new GatewayError("payload_too_large", `Request body is larger than ${maxBytes} bytes`, { maxBytes });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface ParseOptions {
  maxBytes: number;
  /** Treat an empty body as {} (for endpoints whose fields all have defaults). */
  allowEmpty?: boolean;
}

export async function parseJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  options: ParseOptions,
): Promise<z.infer<S>> {
  const contentType = request.headers.get("content-type");
  const text = await readLimited(request, options.maxBytes);
  if (text.trim() === "" && options.allowEmpty) return parseShape(schema, {});
  if (!isJsonContentType(contentType)) {
    throw new GatewayError("unsupported_media_type", "Send the body as JSON with Content-Type: application/json", {
      received: contentType ?? null,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError("invalid_json", "Request body is not valid JSON");
  }
  return parseShape(schema, value);
}

function parseShape<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.join(".") || "(body)",
    message: issue.message,
  }));
  const first = issues[0];
  throw new GatewayError(
    "invalid_body",
    first ? `Invalid request body: ${first.path === "(body)" ? "" : `${first.path}: `}${first.message}` : "Invalid request body",
    { issues },
  );
}
