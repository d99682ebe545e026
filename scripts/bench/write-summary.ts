/**
 * Re-renders the bench's summaries in docs/benchmarks.md and README.md from
 * the committed bench/results.json, without measuring anything: for a change
 * to how the summary reads. `npm run bench` writes them itself.
 *   node --import tsx scripts/bench/write-summary.ts
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { BenchResults } from "./report";
import { renderReadmeLine, renderSummary, writeBetweenMarkers } from "./summary";

const ROOT = path.resolve(__dirname, "../..");
const results = JSON.parse(readFileSync(path.join(ROOT, "bench", "results.json"), "utf8")) as BenchResults;
writeBetweenMarkers(path.join(ROOT, "docs", "benchmarks.md"), "summary", renderSummary(results));
writeBetweenMarkers(path.join(ROOT, "README.md"), "line", renderReadmeLine(results));
