import { getGatewayDeps } from "@/lib/gateway/deps";
import { checkHealth } from "@/lib/health";
import { errorResponse, jsonResponse, methodNotAllowed } from "@/lib/http";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** 200 when Valkey answers a PING and the breaker is not open; 503 otherwise. Always JSON. */
export async function GET(): Promise<Response> {
  try {
    const health = await checkHealth(getGatewayDeps());
    return jsonResponse(health, { status: health.status === "ok" ? 200 : 503 });
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["GET"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
