import { getConfig } from "@/lib/config";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { chatCompletionRequestSchema, fromChatCompletion, openaiErrorResponse, shapeChatCompletion } from "@/lib/gateway/dialects/openai";
import { identifyCaller } from "@/lib/gateway/auth";
import { runGateway } from "@/lib/gateway/pipeline";
import { parseJsonBody } from "@/lib/http";
import { GatewayError } from "@/lib/errors";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** POST /v1/chat/completions: the OpenAI dialect's door into the same gateway core as /api/generate. */
export async function POST(request: Request): Promise<Response> {
  try {
    const config = getConfig();
    const deps = getGatewayDeps();
    const identity = await identifyCaller(request.headers, deps);
    const body = await parseJsonBody(request, chatCompletionRequestSchema, { maxBytes: config.CHAT_MAX_BODY_BYTES });
    // The upstream call stops when the client disconnects, or stops reading a stream.
    const cancel = new AbortController();
    const signal = AbortSignal.any([request.signal, cancel.signal]);
    const result = await runGateway(deps, fromChatCompletion(body, identity, request.headers, signal));
    return await shapeChatCompletion(result, {
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
      now: deps.now(),
      onCancel: () => cancel.abort(),
    });
  } catch (error) {
    return openaiErrorResponse(error);
  }
}

const notAllowed = () => openaiErrorResponse(new GatewayError("method_not_allowed", "Use POST for /v1/chat/completions.", { allow: ["POST"] }));
export { notAllowed as GET, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
