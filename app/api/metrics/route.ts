import { getGatewayDeps } from "@/lib/gateway/deps";
import { methodNotAllowed } from "@/lib/http";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Prometheus text exposition of this process's metrics (lib/metrics.ts). */
export async function GET(): Promise<Response> {
  const { metrics } = getGatewayDeps();
  return new Response(await metrics.registry.metrics(), {
    headers: { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" },
  });
}

const notAllowed = methodNotAllowed(["GET"]);
export { notAllowed as POST, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
