/**
 * The console examples of the docs, as data: every ```console block of a
 * Markdown file, its commands (lines that start with `$ `, continued while a
 * quote is open) and the output under each, and the annotation that tells
 * scripts/docs-examples.ts how to abbreviate that output:
 *
 *   <!-- example: headers=x-cache,x-ratelimit-*; json=rateLimit.dimensions; 2 events=2+3; valkey=down -->
 *
 * on the line just before the block. Clauses are `;`-separated `key=value`;
 * a clause may start with the numbers of the commands it applies to
 * (`2,3 headers=…`, counting the block's commands from 1), else it applies to
 * every command. Keys:
 *   headers  the response headers to show (globs, `*` at the end); the others
 *            are left out and each run of them is marked `…`
 *   json     JSON paths to cut: `a.b` shows that value as `[…]`, `{…}` or
 *            (a string) its first sentence and ` …`; `a[1:]` keeps an array's
 *            first item and marks the rest `…`; `-a.b` leaves the member out,
 *            `…` in its place; `*` shows the whole body as `…`
 *   events   `head+tail`: of a stream (SSE or NDJSON), the first `head` and
 *            last `tail` events, `…` between
 *   valkey   `down`: the block's server runs with its Valkey stopped
 *   start    `:SS`: the block starts SS seconds into a minute (05-50), for a
 *            block that shows a sliding-window counter's reset (see
 *            offsetFromDocNow in scripts/docs-examples.ts)
 *   run      `no`: the block is documentation only, never run
 * Without `headers`, the headers every response carries (security headers,
 * `Vary`, `Date`, connection and framing headers) are left out, as the docs say.
 */
import { readFileSync } from "node:fs";

export interface ConsoleCommand {
  /** The command as typed, without `$ `; continuation lines joined with \n. */
  text: string;
  /** What it printed, as the doc shows it (no trailing newline). */
  output: string;
  /** The doc leaves a blank line after this command's output. */
  blankAfter: boolean;
}

export interface Clause {
  /** 1-based command numbers; empty: every command. */
  commands: number[];
  key: string;
  value: string;
}

export interface ConsoleBlock {
  file: string;
  /** 0-based line of the opening fence. */
  start: number;
  /** 0-based line of the closing fence. */
  end: number;
  /** 0-based line of the annotation comment, if any. */
  annotationLine: number | null;
  clauses: Clause[];
  commands: ConsoleCommand[];
}

const ANNOTATION = /^<!--\s*example:(.*?)-->\s*$/;
export const ANNOTATION_KEYS = ["headers", "json", "events", "valkey", "start", "run"] as const;

export function parseAnnotation(body: string): Clause[] {
  return body
    .split(";")
    .map((c) => c.trim())
    .filter(Boolean)
    .map((clause) => {
      const m = /^(?:(\d+(?:,\d+)*)\s+)?([a-z]+)=(.*)$/.exec(clause);
      if (!m) throw new Error(`bad example annotation clause: ${clause}`);
      if (!(ANNOTATION_KEYS as readonly string[]).includes(m[2]!)) throw new Error(`unknown example annotation key: ${m[2]}`);
      return { commands: m[1] ? m[1].split(",").map(Number) : [], key: m[2]!, value: m[3]!.trim() };
    });
}

/** The value of `key` for command `n` (1-based): a clause naming n wins over one for every command. */
export function option(block: ConsoleBlock, key: string, n?: number): string | undefined {
  const own = n === undefined ? undefined : block.clauses.find((c) => c.key === key && c.commands.includes(n));
  return (own ?? block.clauses.find((c) => c.key === key && c.commands.length === 0))?.value;
}

/** Whether a shell line leaves a quote open (or ends in `\`), starting from `state`. */
function quoteState(line: string, state: "" | "'" | '"'): "" | "'" | '"' {
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (state === "'") {
      if (ch === "'") state = "";
    } else if (state === '"') {
      if (ch === "\\") i++;
      else if (ch === '"') state = "";
    } else if (ch === "\\") i++;
    else if (ch === "'" || ch === '"') state = ch;
  }
  return state;
}

function parseCommands(lines: string[]): ConsoleCommand[] {
  const commands: ConsoleCommand[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.startsWith("$ ")) throw new Error(`console block output before any command: ${line}`);
    const text = [line.slice(2)];
    let state = quoteState(line.slice(2), "");
    i++;
    while ((state !== "" || text[text.length - 1]!.endsWith("\\")) && i < lines.length) {
      text.push(lines[i]!);
      state = quoteState(lines[i]!, state);
      i++;
    }
    const output: string[] = [];
    while (i < lines.length && !lines[i]!.startsWith("$ ")) output.push(lines[i++]!);
    let blankAfter = false;
    while (output.length && output[output.length - 1] === "") {
      output.pop();
      blankAfter = true;
    }
    commands.push({ text: text.join("\n"), output: output.join("\n"), blankAfter });
  }
  return commands;
}

export function parseConsoleBlocks(file: string, markdown: string): ConsoleBlock[] {
  const lines = markdown.split("\n");
  const blocks: ConsoleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```console") continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed console block`);
    const previous = i > 0 ? ANNOTATION.exec(lines[i - 1]!) : null;
    blocks.push({
      file,
      start: i,
      end,
      annotationLine: previous ? i - 1 : null,
      clauses: previous ? parseAnnotation(previous[1]!) : [],
      commands: parseCommands(lines.slice(i + 1, end)),
    });
    i = end;
  }
  return blocks;
}

export function readConsoleBlocks(root: string, file: string): ConsoleBlock[] {
  return parseConsoleBlocks(file, readFileSync(`${root}/${file}`, "utf8"));
}

/** A block's lines between its fences, as the doc writes them. */
export function renderCommands(commands: readonly ConsoleCommand[]): string[] {
  const out: string[] = [];
  for (const c of commands) {
    out.push(...`$ ${c.text}`.split("\n"));
    if (c.output !== "") out.push(...c.output.split("\n"));
    if (c.blankAfter) out.push("");
  }
  return out;
}

/** The files whose console examples are regenerated and checked. */
export const EXAMPLE_FILES = ["README.md", "docs/api.md"];
