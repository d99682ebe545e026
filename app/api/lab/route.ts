import { getConfig } from "@/lib/config";
import { GatewayError } from "@/lib/errors";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { errorResponse, jsonResponse, methodNotAllowed, parseJsonBody } from "@/lib/http";
import { readLab } from "@/lib/lab";
import { labRequestSchema, type LabRequest } from "@/lib/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * The algorithm lab: the same burst pattern through all four limiters, with
 * a simulated clock, on private keys. POST {limit?, windowMs?} or
 * GET ?limit=&windowMs=. A bounded run (~8 × limit script calls per algorithm),
 * one at a time, its result served for a few seconds to whoever asks the same.
 */

/** Concurrent visitors share one run's result (see readLab); nobody gets a 429 for arriving together. */
async function run(request: LabRequest): Promise<Response> {
  const deps = getGatewayDeps();
  return jsonResponse(await readLab({ valkey: deps.valkey, keys: deps.keys, request }));
}

export async function POST(request: Request): Promise<Response> {
  try {
    const body = await parseJsonBody(request, labRequestSchema, { maxBytes: getConfig().MAX_BODY_BYTES, allowEmpty: true });
    return await run(body);
  } catch (error) {
    return errorResponse(error);
  }
}

export async function GET(request: Request): Promise<Response> {
  try {
    const params = Object.fromEntries(new URL(request.url).searchParams);
    const parsed = labRequestSchema.safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new GatewayError("invalid_body", `Invalid query: ${issue?.path.join(".")}: ${issue?.message}`);
    }
    return await run(parsed.data);
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["GET", "POST"]);
export { notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
