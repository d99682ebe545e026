import { createHash } from "node:crypto";
import { methodNotAllowed } from "@/lib/http";
import { openApiDocument } from "@/lib/openapi";

/**
 * GET /api/openapi.json: the OpenAPI 3.1 document (lib/openapi.ts), built once
 * per process from the code alone, so it is static per build: a client keeps
 * it for a while and then revalidates with If-None-Match for a bodiless 304.
 * This folder outranks the /api/[...path] catch-all, as any static segment does.
 */

let served: { body: string; etag: string } | undefined;

function document(): { body: string; etag: string } {
  if (!served) {
    const body = JSON.stringify(openApiDocument());
    served = { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
  }
  return served;
}

const CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400";

export function GET(request: Request): Response {
  const { body, etag } = document();
  const headers = { ETag: etag, "Cache-Control": CACHE_CONTROL };
  const sent = request.headers.get("if-none-match");
  // Weak comparison, as If-None-Match asks (RFC 9110 §13.1.2).
  if (sent && sent.split(",").some((tag) => ["*", etag].includes(tag.trim().replace(/^W\//, "")))) return new Response(null, { status: 304, headers });
  return new Response(body, { headers: { ...headers, "Content-Type": "application/json; charset=utf-8" } });
}

const notAllowed = methodNotAllowed(["GET"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
