import { randomUUID } from "node:crypto";
import { getConfig } from "@/lib/config";
import { GatewayError } from "@/lib/errors";
import { getGatewayDeps } from "@/lib/gateway/deps";
import { identifyCaller } from "@/lib/gateway/auth";
import { createRunSlots, runSimulation, takeSimulatorRun, type RunSlots } from "@/lib/gateway/simulate";
import { errorResponse, jsonResponse, methodNotAllowed, parseJsonBody } from "@/lib/http";
import { simulateRequestSchema, type SimulateStreamLine } from "@/lib/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * POST {count, concurrency, clients, prompts, tier} → {summary, results}.
 * With `Accept: application/x-ndjson` the run streams one JSON line per
 * settled request (the dashboard's progress bar), then the summary.
 */
let slots: RunSlots | undefined;

export async function POST(request: Request): Promise<Response> {
  // Given back in `finally`, unless handed to the stream, which gives it back when the run ends.
  let release: (() => void) | null = null;
  try {
    const config = getConfig();
    const caller = await identifyCaller(request.headers, getGatewayDeps());
    const body = await parseJsonBody(request, simulateRequestSchema, { maxBytes: config.MAX_BODY_BYTES, allowEmpty: true });
    // The simulator must not become a way to flood Valkey: few runs at once,
    // each with bounded count and concurrency. The slot is checked and taken
    // in one synchronous step, with no await between them (so parallel
    // requests cannot all pass the check), and only once the body is read,
    // so a client that sends its body slowly holds no slot.
    slots ??= createRunSlots(config.SIMULATE_MAX_RUNS);
    release = slots.take();
    if (!release) {
      throw new GatewayError("simulator_busy", `${slots.inUse()} simulator runs are in progress; try again when one finishes.`, {
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
      return jsonResponse(await runSimulation({ deps, request: run, signal: request.signal }));
    }

    const releaseWhenDone = release;
    release = null;
    const encoder = new TextEncoder();
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
          console.error("[flowgate] simulator run failed", error);
          send({ type: "error", error: "The simulator run failed; the cause is in the server log.", code: "internal" });
        } finally {
          releaseWhenDone();
          controller.close();
        }
      },
    });
    return new Response(stream, {
      headers: { "Content-Type": "application/x-ndjson; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
    });
  } catch (error) {
    return errorResponse(error);
  } finally {
    release?.();
  }
}

const notAllowed = methodNotAllowed(["POST"]);
export { notAllowed as GET, notAllowed as PUT, notAllowed as PATCH, notAllowed as DELETE };
