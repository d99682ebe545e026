import { GatewayError } from "@/lib/errors";
import { errorResponse } from "@/lib/http";

export const dynamic = "force-dynamic";

/** Any other path under /api: a JSON 404 naming what exists, never an HTML page. */
function notFound(request: Request): Response {
  const { pathname } = new URL(request.url);
  return errorResponse(
    new GatewayError("not_found", `Unknown path ${request.method} ${pathname}. The routes are listed below and in docs/api.md.`, {
      routes: ["POST /api/generate", "GET /api/stats", "GET /api/valkey", "POST /api/simulate", "GET /api/health", "GET /api/metrics", "GET /api/lab", "GET|DELETE /api/limits/{identity}", "GET /api/openapi.json"],
    }),
  );
}

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
