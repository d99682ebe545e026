import { describe, expect, it } from "vitest";
import { cacheTag, hashPrompt, normalizePrompt } from "@/lib/gateway/prompt-cache";
import { planGeneration } from "@/lib/gateway/model";

describe("prompt normalization and hashing", () => {
  it("folds case, whitespace and Unicode compatibility forms", () => {
    expect(normalizePrompt("  What   is\tValkey?\n")).toBe("what is valkey?");
    expect(normalizePrompt("ｗｈａｔ ＩＳ valkey?")).toBe("what is valkey?"); // full-width → ASCII (NFKC)
    expect(normalizePrompt("e\u0301")).toBe(normalizePrompt("\u00e9")); // decomposed = composed
  });

  it("gives equal hashes for equivalent prompts and different ones across models", () => {
    const a = hashPrompt("What is Valkey?", "m1");
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(hashPrompt("  what IS valkey? ", "m1")).toBe(a);
    expect(hashPrompt("What is Valkey?", "m2")).not.toBe(a);
    expect(hashPrompt("What is Redis?", "m1")).not.toBe(a);
    expect(cacheTag(a)).toBe(a.slice(0, 12));
  });

  it("hashes every Unicode class consistently", () => {
    for (const text of ["emoji 🚀🔥", "中文提示", "العربية", "zero\u200bwidth", "combining a\u0308", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]) {
      expect(hashPrompt(text, "m")).toBe(hashPrompt(text, "m"));
      expect(hashPrompt(` ${text.toUpperCase()} `, "m")).toBe(hashPrompt(text.toLowerCase(), "m"));
    }
  });
});

describe("simulated model", () => {
  it("is deterministic and counts tokens", () => {
    const a = planGeneration("Why cache LLM responses?", "m", 800);
    const b = planGeneration("why cache   LLM responses?", "m", 800);
    expect(b.response.length).toBeGreaterThan(20);
    expect(a.usage.totalTokens).toBe(a.usage.promptTokens + a.usage.completionTokens);
    expect(planGeneration("Why cache LLM responses?", "m", 800)).toEqual(a);
    expect(a.latencyMs).toBeGreaterThanOrEqual(600);
    expect(a.latencyMs).toBeLessThan(1000);
    expect(b.latencyMs).toBe(a.latencyMs);
    expect(planGeneration("x", "m", 0).latencyMs).toBe(0);
  });
});
