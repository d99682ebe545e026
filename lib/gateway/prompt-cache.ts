import { createHash } from "node:crypto";
import type { ChatMessage, GenerationParams } from "@/lib/gateway/upstreams/types";

/**
 * The prompt cache's key: SHA-256 over a canonical form of everything that
 * changes the answer. Canonical form (version 1), UTF-8:
 *
 *     [scope "\n"] model "\n" conversation
 *
 * - scope: with CACHE_SCOPE=key, "scope:" + the caller's identity label
 *   (each API key its own cache); absent for the default global scope.
 * - conversation: a single user message with no sampling parameters (what
 *   /api/generate sends, and the simplest chat call) is its normalized text,
 *   so the two doors share entries; anything else is the JSON of
 *   [[role, normalized content, name, tool_call_id], …] followed by "\n" and
 *   the JSON of the set parameters in a fixed key order (temperature, top_p,
 *   stop, seed, response_format, max_tokens). `user` is not part of it: it
 *   names the end user, it does not change the answer.
 * - normalized: Unicode NFKC, case-folded, whitespace collapsed and trimmed,
 *   so "What is Valkey?" and "  what is   valkey? " are one entry.
 */

export function normalizePrompt(prompt: string): string {
  return prompt.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim();
}

export interface CacheKeyInput {
  model: string;
  messages: readonly ChatMessage[];
  params?: GenerationParams;
  /** The client's max_tokens, when it sent one (a cut-off answer differs). */
  maxTokens?: number | null;
  /** Identity label when each caller has its own cache (CACHE_SCOPE=key). */
  scope?: string | null;
}

const PARAM_ORDER = ["temperature", "top_p", "stop", "seed", "response_format"] as const;

export function canonicalRequest(input: CacheKeyInput): string {
  const params: [string, unknown][] = PARAM_ORDER.filter((k) => input.params?.[k] !== undefined).map((k) => [k, input.params?.[k]]);
  if (input.maxTokens != null) params.push(["max_tokens", input.maxTokens]);
  const only = input.messages[0];
  const conversation =
    input.messages.length === 1 && only?.role === "user" && !only.name && params.length === 0
      ? normalizePrompt(only.content)
      : `${JSON.stringify(input.messages.map((m) => [m.role, normalizePrompt(m.content), m.name ?? null, m.tool_call_id ?? null]))}\n${JSON.stringify(params)}`;
  return `${input.scope ? `scope:${input.scope}\n` : ""}${input.model}\n${conversation}`;
}

/** Hex SHA-256 of a request's canonical form. */
export function hashRequest(input: CacheKeyInput): string {
  return createHash("sha256").update(canonicalRequest(input), "utf8").digest("hex");
}

/** Hex SHA-256 of one prompt asked of a model, as /api/generate asks it. */
export function hashPrompt(prompt: string, model: string): string {
  return hashRequest({ model, messages: [{ role: "user", content: prompt }] });
}

/** The few hex digits shown in events and on the dashboard. */
export function cacheTag(sha: string): string {
  return sha.slice(0, 12);
}
