import { getConfig } from "@/lib/config";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { DEFAULT_MODEL } from "@/lib/gateway/model";
import { hashPrompt } from "@/lib/gateway/prompt-cache";
import { errorResponse, jsonResponse } from "@/lib/http";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * The framework's floor, for `npm run bench`: the least a route handler in this
 * app can do to answer a prompt from Valkey. It reads the JSON body and makes
 * one GET of the prompt's cache entry, nothing else (no identity, no limit,
 * no counters). /api/generate's requests per second are reported as a share
 * of this route's. Off unless BENCH_ROUTES=1; otherwise it does not exist (404).
 */

function notFound(): Response {
  return jsonResponse({ error: "Not found", code: "not_found" }, { status: 404 });
}

export async function POST(request: Request): Promise<Response> {
  if (!getConfig().BENCH_ROUTES) return notFound();
  try {
    const body = (await request.json().catch(() => ({}))) as { prompt?: unknown };
    const deps = getGatewayDeps();
    const client = await deps.valkey();
    const cached = await client.get(deps.keys.cache(hashPrompt(String(body.prompt ?? ""), DEFAULT_MODEL)));
    return new Response(cached ?? "null", {
      headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" },
    });
  } catch (error) {
    return errorResponse(error);
  }
}

export { notFound as GET, notFound as PUT, notFound as PATCH, notFound as DELETE };
