import { isAdmin } from "@/lib/admin";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { errorResponse, jsonResponse, methodNotAllowed } from "@/lib/http";
import { maskStats } from "@/lib/stats/privacy";
import { readStats } from "@/lib/stats/read-stats";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * The dashboard's snapshot; 200 with `connected: false` while Valkey is away.
 * In production, caller addresses are masked (IPv4 /24, IPv6 /48) unless the
 * request carries the admin token; the local demo (FLOWGATE_DEMO) shows them whole.
 */
export async function GET(request?: Request): Promise<Response> {
  try {
    const deps = getGatewayDeps();
    const stats = await readStats(deps);
    const { config } = deps;
    const whole = config.NODE_ENV !== "production" || config.FLOWGATE_DEMO || (request !== undefined && isAdmin(request.headers, config));
    return jsonResponse(whole ? stats : maskStats(stats));
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["GET"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
