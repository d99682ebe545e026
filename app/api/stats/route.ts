import { getGatewayDeps } from "@/lib/gateway/deps";
import { errorResponse, jsonResponse, methodNotAllowed } from "@/lib/http";
import { readStats } from "@/lib/stats/read-stats";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** The dashboard's snapshot; 200 with `connected: false` while Valkey is away. */
export async function GET(): Promise<Response> {
  try {
    return jsonResponse(await readStats(getGatewayDeps()));
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["GET"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
