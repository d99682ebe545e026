import { GatewayError } from "@/lib/errors";
import { openaiErrorResponse } from "@/lib/gateway/dialects/openai";

export const dynamic = "force-dynamic";

/** Any other path under /v1: OpenAI's JSON 404, which SDKs turn into NotFoundError, never an HTML page. */
function notFound(request: Request): Response {
  const { pathname } = new URL(request.url);
  return openaiErrorResponse(
    new GatewayError("not_found", `Unknown path ${request.method} ${pathname}. This gateway serves POST /v1/chat/completions and GET /v1/models.`),
  );
}

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
