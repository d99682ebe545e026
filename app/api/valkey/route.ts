import { isAdmin } from "@/lib/admin";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { errorResponse, jsonResponse, methodNotAllowed } from "@/lib/http";
import { readValkeyViews } from "@/lib/stats/valkey-views";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * What Valkey does under the hood: memory and TTLs, command latency, hot
 * prompts and evictions, stream health and consumer lag (lib/stats/valkey-views.ts).
 * 200 with `connected: false` while Valkey is away. In production (without
 * FLOWGATE_DEMO) the gateway never writes prompt text to Valkey (hot prompts
 * are counted by hash alone), and any preview is left out of the answer
 * unless the request carries the admin token.
 */
export async function GET(request?: Request): Promise<Response> {
  try {
    const deps = getGatewayDeps();
    const views = await readValkeyViews(deps);
    const { config } = deps;
    const whole = config.NODE_ENV !== "production" || config.FLOWGATE_DEMO || (request !== undefined && isAdmin(request.headers, config));
    if (whole) return jsonResponse(views);
    return jsonResponse({ ...views, cache: { ...views.cache, hotPrompts: views.cache.hotPrompts.map((p) => ({ ...p, preview: null })) } });
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["GET"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
