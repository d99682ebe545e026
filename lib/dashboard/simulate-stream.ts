import { simulateStreamLineSchema, type SimulateStreamLine } from "@/lib/schemas";

/**
 * POST /api/simulate's NDJSON answer, one parsed line at a time as it
 * arrives: what the simulator panel's progress bar and the presenter both read.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a fetch body, whatever its chunk type says
export async function* simulateLines(body: ReadableStream<any>): AsyncGenerator<SimulateStreamLine> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
      if (line) yield simulateStreamLineSchema.parse(JSON.parse(line));
    }
  }
}
