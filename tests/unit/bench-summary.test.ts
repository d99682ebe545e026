import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BenchResults } from "../../scripts/bench/report";
import { renderReadmeLine, renderSummary, writeBetweenMarkers } from "../../scripts/bench/summary";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const block = (source: string, name: string) => {
  const match = new RegExp(`<!-- bench:${name} -->\\n([\\s\\S]*?)\\n<!-- /bench:${name} -->`).exec(source);
  return match?.[1];
};

describe("the bench's figures in the docs", () => {
  const results = JSON.parse(read("bench/results.json")) as BenchResults;

  it("are the committed run's, rendered, not typed: README and docs/benchmarks.md match bench/results.json", () => {
    expect(block(read("README.md"), "line")).toBe(renderReadmeLine(results));
    expect(block(read("docs/benchmarks.md"), "summary")).toBe(renderSummary(results));
  });

  it("read as figures: nothing undefined or NaN in the summary of a real run", () => {
    const text = renderSummary(results) + renderReadmeLine(results);
    expect(text).not.toMatch(/NaN|undefined|null/);
    expect(text).toContain(results.startedAt.slice(0, 10));
  });

  it("are written between their markers, and a file without them is an error, not a silent skip", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bench-summary-"));
    const file = path.join(dir, "doc.md");
    writeFileSync(file, "before\n<!-- bench:x -->\nold\n<!-- /bench:x -->\nafter\n");
    writeBetweenMarkers(file, "x", "new");
    expect(readFileSync(file, "utf8")).toBe("before\n<!-- bench:x -->\nnew\n<!-- /bench:x -->\nafter\n");
    writeFileSync(file, "no markers\n");
    expect(() => writeBetweenMarkers(file, "x", "new")).toThrow(/no <!-- bench:x -->/);
  });
});
