import { createHash } from "node:crypto";
import { normalizePrompt } from "@/lib/gateway/prompt-cache";
import type { ChatMessage, Usage } from "@/lib/gateway/upstreams/types";

/**
 * The model step: the simulated model's text (planGeneration, used by the
 * simulator upstream) and the token estimate the limits reserve with. Tokens
 * are estimated at ~4 characters each, the usual rule of thumb for English
 * text; the upstream's own usage settles the reservation afterwards.
 * Which upstream answers is chosen in upstreams/index.ts.
 */

export const DEFAULT_MODEL = "flowgate-sim-1";

export type { Usage };

export interface Generation {
  response: string;
  model: string;
  usage: Usage;
  /** How long the generation took, ms. */
  latencyMs: number;
}

export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil([...text].length / 4));
}

/** Estimated prompt tokens of a conversation: ~4 characters a token over every message's text. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
}

const OPENINGS = [
  "Here is a short answer.",
  "Good question.",
  "In brief:",
  "The short version:",
  "Let's break it down.",
];

const BODIES = [
  "A gateway in front of an LLM API identifies each caller, applies its rate limit, and answers repeated prompts from a cache, so the model only sees work it has not done before.",
  "Sliding-window limits count every request in the last window exactly, which avoids the burst that fixed windows allow at their boundaries.",
  "Caching by a hash of the normalized prompt turns repeated questions into sub-millisecond lookups that cost no tokens.",
  "Keeping the decision in one server-side script makes it atomic: concurrent requests cannot both take the last free slot.",
  "A capped stream keeps a bounded, ordered log of decisions that a dashboard can tail without scanning the keyspace.",
  "Token budgets matter as much as request counts: one long prompt can cost more than a hundred short ones.",
];

const CLOSINGS = [
  "Ask again and the answer comes from the cache.",
  "That is the whole idea, simulated here without a real model.",
  "Try the same prompt twice to see the difference.",
  "The dashboard shows each of these decisions as it happens.",
];

function pick<T>(list: readonly T[], byte: number): T {
  return list[byte % list.length] as T;
}

/** Latency multiplier in [0.75, 1.25), fixed per prompt so runs repeat. */
function jitter(digest: Buffer): number {
  return 0.75 + ((digest[3] ?? 0) / 256) * 0.5;
}

export function planGeneration(prompt: string, model: string, baseLatencyMs: number): Generation {
  const digest = createHash("sha256").update(`${model}\n${normalizePrompt(prompt)}`).digest();
  const topic = prompt.trim().replace(/\s+/g, " ").slice(0, 80);
  const response = [
    pick(OPENINGS, digest[0] ?? 0),
    `You asked: "${topic}${prompt.trim().length > 80 ? "…" : ""}".`,
    pick(BODIES, digest[1] ?? 0),
    pick(CLOSINGS, digest[2] ?? 0),
  ].join(" ");
  const promptTokens = estimateTokens(prompt);
  const completionTokens = estimateTokens(response);
  return {
    response,
    model,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    latencyMs: baseLatencyMs > 0 ? Math.round(baseLatencyMs * jitter(digest)) : 0,
  };
}
