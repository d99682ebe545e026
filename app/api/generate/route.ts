import { getConfig } from "@/lib/config";
import { upstreamFailure } from "@/lib/errors";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { fromGenerateBody, shapeGenerateResult } from "@/lib/gateway/dialects/generate";
import { identifyCaller } from "@/lib/gateway/auth";
import { runGateway } from "@/lib/gateway/pipeline";
import { isUpstreamError } from "@/lib/gateway/upstreams/types";
import { errorResponse, methodNotAllowed, parseJsonBody } from "@/lib/http";
import { generateRequestSchema } from "@/lib/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request): Promise<Response> {
  let requestId: string | undefined;
  try {
    const config = getConfig();
    const deps = getGatewayDeps();
    const identity = await identifyCaller(request.headers, deps);
    const body = await parseJsonBody(request, generateRequestSchema, { maxBytes: config.MAX_BODY_BYTES });
    const result = await runGateway(deps, fromGenerateBody(body, identity, request.headers, config, request.signal));
    requestId = result.requestId;
    return await shapeGenerateResult(result, deps.now());
  } catch (error) {
    return errorResponse(isUpstreamError(error) ? upstreamFailure(error, requestId ?? "") : error);
  }
}

const notAllowed = methodNotAllowed(["POST"]);
export { notAllowed as GET, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
