import { estimatePromptTokens, estimateTokens, planGeneration } from "@/lib/gateway/model";
import { UpstreamError, type ChatMessage, type Upstream, type UpstreamEvent, type UpstreamRequest } from "@/lib/gateway/upstreams/types";

/**
 * The built-in model: deterministic (the same conversation and model give the
 * same text and token counts), streaming its answer word by word spread evenly
 * over SIMULATED_LATENCY_MS, so streaming is visible on a demo and a cache hit
 * visibly saves time. It honours max_tokens (cut off, finish_reason "length")
 * and stops as soon as the request is aborted. It answers whatever model is
 * asked for, so an app written for another model runs against the demo
 * unchanged; GET /v1/models lists SIMULATED_MODELS.
 */

/** Unix s: the simulator's models "exist" since the gateway's first release. */
const CREATED = 1_764_547_200;

/** The text a conversation asks about: its last user message (else the last message). */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") return messages[i]!.content;
  }
  return messages[messages.length - 1]?.content ?? "";
}

/** Wait `ms`, or throw as soon as the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new UpstreamError("aborted", "client went away"));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new UpstreamError("aborted", "client went away"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function createSimulator(options: { models: readonly string[]; latencyMs: number }): Upstream {
  return {
    kind: "simulator",
    async listModels() {
      return options.models.map((id) => ({ id, created: CREATED, ownedBy: "flowgate" }));
    },
    async *generate(request: UpstreamRequest): AsyncGenerator<UpstreamEvent> {
      const plan = planGeneration(lastUserText(request.messages), request.model, options.latencyMs);
      let text = plan.response;
      let finishReason: "stop" | "length" = "stop";
      if (estimateTokens(text) > request.maxTokens) {
        text = [...text].slice(0, request.maxTokens * 4).join("");
        finishReason = "length";
      }
      const words = text.match(/\S+\s*/gu) ?? [];
      const gap = words.length > 0 ? plan.latencyMs / words.length : 0;
      for (const word of words) {
        if (gap > 0) await pause(gap, request.signal);
        else if (request.signal.aborted) throw new UpstreamError("aborted", "client went away");
        yield { type: "delta", text: word };
      }
      const promptTokens = estimatePromptTokens(request.messages);
      const completionTokens = estimateTokens(text);
      yield {
        type: "done",
        finishReason,
        model: request.model,
        usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
      };
    },
  };
}
