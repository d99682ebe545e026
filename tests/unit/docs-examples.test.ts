import path from "node:path";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "@/lib/openapi";
import { EXAMPLE_FILES, readConsoleBlocks, type ConsoleBlock, type ConsoleCommand } from "@/scripts/lib/console-examples";
import { schemaCheckerFor, type Json, type ResponseObject } from "@/tests/support/openapi-conformance";

/**
 * Every answer a console example of the docs shows is valid by the OpenAPI
 * document (built from lib/schemas.ts), so an example that drifts from the
 * schema fails here, without a server: `npm run docs:examples` rewrites the
 * outputs, this test reads them.
 *
 * Checked: each `curl` command's JSON body, each `data:` event of an SSE
 * body and each line of an NDJSON body, against the operation its method and
 * path name, for the status its `HTTP/1.1` line shows (without one, against
 * any status the operation documents). Not checked: commands whose output is
 * not the route's answer (piped through jq or grep, written to /dev/null, in
 * a shell function) and the SDK examples (the SDK's own printing).
 *
 * Cut outputs (`…`, made by the block's annotation) cannot be valid whole:
 * a `[…]` has no items, a member left out is missing. Such a body is read
 * with its cuts removed (`[…]` → `[]`, `{…}` → `{}`, a `…` member or item
 * dropped) and checked against the schema without `required` and
 * `minItems`: every field it still shows must exist, with its type, format,
 * enum and bounds (`additionalProperties: false` stays), so a renamed or
 * retyped field fails, while what the cut removed is not asked for. An
 * output without cuts is checked against the schema as it is.
 */

const root = path.resolve(import.meta.dirname, "../..");
const checker = await schemaCheckerFor(openApiDocument());

type Body = { kind: "json" | "sse" | "ndjson"; values: unknown[] };

/** The JSON text of a cut value, parseable: `[…]` → `[]`, `{…}` → `{}`, `…` members and items dropped. */
function uncut(text: string): string {
  return text
    .replace(/\[…\]/g, "[]")
    .replace(/\{…\}/g, "{}")
    .replace(/,\s*…(?=\s*[\]}])/g, "")
    .replace(/([{[])…,/g, "$1")
    .replace(/,…,/g, ",");
}

function parseBody(text: string): Body | null {
  const json = (t: string) => JSON.parse(uncut(t)) as unknown;
  if (text.startsWith("data: ")) {
    const events = text.split("\n").filter((l) => l.startsWith("data: ") && l !== "data: [DONE]");
    return { kind: "sse", values: events.map((l) => json(l.slice(6))) };
  }
  const lines = text.split("\n").filter((l) => l !== "…");
  if (lines.length > 1 && lines.every((l) => l.startsWith("{"))) return { kind: "ndjson", values: lines.map(json) };
  if (/^[[{]/.test(text)) return { kind: "json", values: [json(text)] };
  return null;
}

/** The schema without what a cut takes away: required members and minimum counts. */
function relaxed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(relaxed);
  if (!schema || typeof schema !== "object") return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => k !== "required" && k !== "minItems" && k !== "minProperties")
      .map(([k, v]) => [k, relaxed(v)]),
  );
}

/** What a console command asks: method and documented path; null for commands whose output is not a route's answer. */
function requestOf(command: string): { method: string; path: string } | null {
  if (!command.startsWith("curl ") || command.includes("|") || command.includes("/dev/null") || command.includes("$(")) return null;
  const url = /localhost:\d+(\/[^\s'"?]*)/.exec(command)?.[1];
  if (!url) return null;
  const method = /-X (\w+)/.exec(command)?.[1] ?? (/ -d /.test(command) ? "POST" : "GET");
  const documented = Object.keys(checker.doc.paths).find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(url));
  return documented ? { method, path: documented } : { method, path: url };
}

/**
 * An unknown path, or a method a route does not serve: the catch-alls answer
 * 404 and 405 in each dialect's error shape (the document says so in its
 * description, not as paths), so that is what such an example is checked against.
 */
function unservedOperation(path: string, status: string | null): { responses: Record<string, ResponseObject> } {
  if (!status || !["404", "405"].includes(status)) throw new Error(`${path} is not in the OpenAPI document`);
  const schemas = (checker.doc as unknown as { components: { schemas: Record<string, Json> } }).components.schemas;
  const schema = path.startsWith("/v1/") ? schemas.OpenAIError : schemas[`ApiError${status}`];
  if (!schema) throw new Error(`no error schema for ${status} on ${path}`);
  return { responses: { [status]: { content: { "application/json": { schema } } } } };
}

const MEDIA = { json: "application/json", sse: "text/event-stream", ndjson: "application/x-ndjson" } as const;

/** Throws unless the command's shown answer is valid by the document. */
function checkExample(command: ConsoleCommand): void {
  const request = requestOf(command.text);
  if (!request) return;
  let status: string | null = null;
  let bodyText = command.output;
  if (bodyText.startsWith("HTTP/")) {
    status = /^HTTP\/[\d.]+ (\d{3})/.exec(bodyText)![1]!;
    const split = bodyText.indexOf("\n\n");
    bodyText = split < 0 ? "" : bodyText.slice(split + 2);
  }
  const body = parseBody(bodyText);
  if (!body) return;
  const cut = bodyText.includes("…");
  const operation = checker.doc.paths[request.path]?.[request.method.toLowerCase()] ?? unservedOperation(request.path, status);
  const candidates: [string, ResponseObject][] = status
    ? [[status, operation.responses[status] ?? {}]]
    : Object.entries(operation.responses);
  const failures: string[] = [];
  for (const [code, response] of candidates) {
    const media = response.content?.[MEDIA[body.kind]];
    if (!media) {
      failures.push(`${code}: no ${MEDIA[body.kind]} answer documented`);
      continue;
    }
    const schema = (body.kind === "json" ? media.schema : media["x-item-schema"]) as Json | undefined;
    if (!schema) {
      failures.push(`${code}: no schema for ${MEDIA[body.kind]}`);
      continue;
    }
    try {
      body.values.forEach((value, i) =>
        checker.expectValid((cut ? relaxed(schema) : schema) as Json, value, `${request.method} ${request.path} → ${code}, ${body.kind} value ${i}`),
      );
      return;
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new Error(failures.join("\n"));
}

const blocks: ConsoleBlock[] = EXAMPLE_FILES.flatMap((file) => readConsoleBlocks(root, file));

describe("the docs' console examples", () => {
  it("are found: README.md and docs/api.md have console blocks", () => {
    expect(blocks.filter((b) => b.file === "README.md").length).toBeGreaterThan(0);
    expect(blocks.filter((b) => b.file === "docs/api.md").length).toBeGreaterThan(0);
  });

  for (const block of blocks) {
    block.commands.forEach((command, i) => {
      if (!requestOf(command.text)) return;
      it(`${block.file}:${block.start + 1} command ${i + 1} shows an answer the OpenAPI document allows`, () => {
        checkExample(command);
      });
    });
  }

  it("rejects an answer with a renamed field, cut or not (the check is not vacuous)", () => {
    const renamed = (output: string) => output.replace('"identity":', '"identityX":');
    const whole = blocks.flatMap((b) => b.commands).find((c) => requestOf(c.text) && c.output.includes('"identity":') && !c.output.includes("…"));
    const cut = blocks.flatMap((b) => b.commands).find((c) => requestOf(c.text) && c.output.includes('"identity":') && c.output.includes("…"));
    expect(whole && cut).toBeTruthy();
    for (const command of [whole!, cut!]) {
      expect(() => checkExample(command)).not.toThrow();
      expect(() => checkExample({ ...command, output: renamed(command.output) })).toThrow(/does not match the document/);
    }
  });
});
