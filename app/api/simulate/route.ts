import { randomUUID } from "node:crypto";
import { getConfig } from "@/lib/config";
import { GatewayError } from "@/lib/errors";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { resolveIdentity } from "@/lib/gateway/identity";
import { runSimulation, takeSimulatorRun } from "@/lib/gateway/simulate";
import { errorResponse, jsonResponse, methodNotAllowed, parseJsonBody } from "@/lib/http";
import { simulateRequestSchema, type SimulateStreamLine } from "@/lib/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * POST {count, concurrency, clients, prompts, tier} → {summary, results}.
 * With `Accept: application/x-ndjson` the run streams one JSON line per
 * settled request (the dashboard's progress bar), then the summary.
 */
let runsInFlight = 0;

export async function POST(request: Request): Promise<Response> {
  try {
    const config = getConfig();
    const caller = resolveIdentity(request.headers, { apiKeys: config.API_KEYS, trustProxy: config.TRUST_PROXY });
    const body = await parseJsonBody(request, simulateRequestSchema, { maxBytes: config.MAX_BODY_BYTES, allowEmpty: true });
    // The simulator must not become a way to flood Valkey: few runs at once,
    // each with bounded count and concurrency.
    if (runsInFlight >= config.SIMULATE_MAX_RUNS) {
      throw new GatewayError("simulator_busy", `${runsInFlight} simulator runs are in progress; try again when one finishes.`, {
        retryAfterSeconds: 1,
      });
    }
    // The server's own caps may be tighter than the schema's.
    const run = {
      ...body,
      count: Math.min(body.count, config.SIMULATE_MAX_COUNT),
      concurrency: Math.min(body.concurrency, config.SIMULATE_MAX_CONCURRENCY),
    };
    const deps = getGatewayDeps();
    const quota = await takeSimulatorRun({ deps, caller, requestId: randomUUID() });
    if (quota && !quota.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(quota.retryAfterMs / 1000));
      throw new GatewayError(
        "rate_limited",
        `${caller.id} has started ${quota.limit} simulator runs in the last minute; try again in ${retryAfterSeconds} s.`,
        { retryAfterSeconds, retryAfter: new Date(deps.now() + retryAfterSeconds * 1000).toISOString(), policy: "simulator", limit: quota.limit },
      );
    }

    if (!(request.headers.get("accept") ?? "").includes("application/x-ndjson")) {
      runsInFlight += 1;
      try {
        return jsonResponse(await runSimulation({ deps, request: run, signal: request.signal }));
      } finally {
        runsInFlight -= 1;
      }
    }

    const encoder = new TextEncoder();
    runsInFlight += 1;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (line: SimulateStreamLine) => controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
        send({ type: "start", total: run.count });
        try {
          const { summary } = await runSimulation({
            deps,
            request: run,
            signal: request.signal,
            onResult: (result, done) => send({ type: "progress", done, total: run.count, result }),
          });
          send({ type: "done", summary });
        } catch (error) {
          send({ type: "error", error: (error as Error).message, code: "internal" });
        } finally {
          runsInFlight -= 1;
          controller.close();
        }
      },
    });
    return new Response(stream, {
      headers: { "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
    });
  } catch (error) {
    return errorResponse(error);
  }
}

const notAllowed = methodNotAllowed(["POST"]);
export { notAllowed as GET, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
