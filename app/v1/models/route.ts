import { GatewayError } from "@/lib/errors";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { modelList, openaiErrorResponse } from "@/lib/gateway/dialects/openai";
import { identifyCaller } from "@/lib/gateway/auth";
import { listModels } from "@/lib/gateway/upstreams/models";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** GET /v1/models: what the upstream serves (the simulator's list, or the upstream server's). */
export async function GET(request: Request): Promise<Response> {
  try {
    const deps = getGatewayDeps();
    // An unknown key is refused here as on every /v1 route (and counted); no key is fine.
    await identifyCaller(request.headers, deps);
    const models = await listModels(deps.upstream);
    return new Response(JSON.stringify(modelList(models)), {
      headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" },
    });
  } catch (error) {
    return openaiErrorResponse(error);
  }
}

const notAllowed = () => openaiErrorResponse(new GatewayError("method_not_allowed", "Use GET for /v1/models.", { allow: ["GET"] }));
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
