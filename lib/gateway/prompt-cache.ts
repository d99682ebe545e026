import { createHash } from "node:crypto";

/**
 * The prompt cache's key: SHA-256 of the normalized prompt and the model.
 * Normalizing (Unicode NFKC, case-folded, whitespace collapsed and trimmed)
 * makes "What is Valkey?" and "  what is   valkey? " one entry.
 */

export function normalizePrompt(prompt: string): string {
  return prompt.normalize("NFKC").toLowerCase().replace(/\s+/gu, " ").trim();
}

/** Hex SHA-256 of model + normalized prompt; the model is part of the key. */
export function hashPrompt(prompt: string, model: string): string {
  return createHash("sha256").update(`${model}\n${normalizePrompt(prompt)}`, "utf8").digest("hex");
}

/** The few hex digits shown in events and on the dashboard. */
export function cacheTag(sha: string): string {
  return sha.slice(0, 12);
}
