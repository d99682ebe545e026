/**
 * Checks a live Response against the OpenAPI document: its status is one the
 * operation lists, its content type one of that response's media types, its
 * body valid by the media type's schema (ajv, JSON Schema 2020-12, the
 * dialect OpenAPI 3.1 uses), each required header present, each documented
 * header valid by its schema, and no gateway header the response does not
 * document. Streams are checked event by event against `x-item-schema`.
 */
import { dereference } from "@readme/openapi-parser";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { createParser } from "eventsource-parser";

export type Json = Record<string, unknown>;
interface Header {
  required?: boolean;
  schema: Json;
}
export interface Media {
  schema: Json;
  "x-item-schema"?: Json;
}
export interface ResponseObject {
  headers?: Record<string, Header>;
  content?: Record<string, Media>;
}
type Operation = { responses: Record<string, ResponseObject> };
export type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Headers the gateway itself sets: every one on a response must be documented there. */
const GATEWAY_HEADER = /^(?:x-|ratelimit|retry-after)/i;

export interface Conformance {
  /** Throws, naming what differs, unless the response is what the document says; resolves to the parsed body. */
  check(res: Response, method: string, path: string): Promise<unknown>;
}

export interface SchemaChecker {
  /** The document with every $ref resolved in place. */
  doc: OpenApiDocument;
  /** Throws, naming what differs, unless `value` is valid by `schema` (one of the document's). */
  expectValid(schema: Json, value: unknown, what: string): void;
}

/** The document's schemas, compiled by ajv as they are needed; also used by tests/unit/docs-examples.test.ts. */
export async function schemaCheckerFor(document: unknown): Promise<SchemaChecker> {
  // Every $ref resolved in place: each schema below compiles on its own.
  const doc = (await dereference(structuredClone(document) as never)) as unknown as OpenApiDocument;
  // Strict, except for `required` beside propertyNames: zod's record keyed by an enum has every key.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  const compiled = new Map<Json, ValidateFunction>();
  const validatorOf = (schema: Json) => {
    let fn = compiled.get(schema);
    if (!fn) compiled.set(schema, (fn = ajv.compile(schema)));
    return fn;
  };
  const expectValid = (schema: Json, value: unknown, what: string) => {
    const validate = validatorOf(schema);
    if (!validate(value)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message} ${JSON.stringify(e.params)}`);
      throw new Error(`${what} does not match the document: ${errors.join("; ")}\n${JSON.stringify(value).slice(0, 600)}`);
    }
  };
  return { doc, expectValid };
}

export async function conformanceTo(document: unknown): Promise<Conformance> {
  const { doc, expectValid } = await schemaCheckerFor(document);

  return {
    async check(res, method, path) {
      const where = `${method} ${path} → ${res.status}`;
      const operation = doc.paths[path]?.[method.toLowerCase()];
      if (!operation) throw new Error(`${method} ${path} is not in the document`);
      const documented = operation.responses[String(res.status)];
      if (!documented) throw new Error(`${where}: the document lists only ${Object.keys(operation.responses).join(", ")}`);

      const headers = documented.headers ?? {};
      const names = new Set(Object.keys(headers).map((n) => n.toLowerCase()));
      for (const [name, header] of Object.entries(headers)) {
        const value = res.headers.get(name);
        if (value === null) {
          if (header.required) throw new Error(`${where}: required header ${name} is missing`);
          continue;
        }
        expectValid(header.schema, value, `${where}: header ${name}`);
      }
      for (const [name] of res.headers) {
        if (GATEWAY_HEADER.test(name) && !names.has(name)) throw new Error(`${where}: header ${name} is not documented for this response`);
      }

      const text = await res.text();
      if (!documented.content) {
        if (text !== "") throw new Error(`${where}: the document says no body, got ${text.slice(0, 100)}`);
        return null;
      }
      const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      const media = documented.content[type];
      if (!media) throw new Error(`${where}: content type ${type || "(none)"} is not one of ${Object.keys(documented.content).join(", ")}`);
      const item = media["x-item-schema"];
      if (item) {
        const events = type === "text/event-stream" ? sseData(text) : text.split("\n").filter((line) => line !== "");
        if (events.length === 0) throw new Error(`${where}: an empty stream`);
        const parsed = events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e) as unknown);
        parsed.forEach((event, i) => expectValid(item, event, `${where}: stream event ${i}`));
        return { events: parsed, raw: events };
      }
      const parsed: unknown = type.endsWith("json") ? JSON.parse(text) : text;
      expectValid(media.schema, parsed, `${where}: body`);
      return parsed;
    },
  };
}

/** The data of each Server-Sent Event, parsed as a client would. */
function sseData(text: string): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (event) => data.push(event.data) });
  parser.feed(text);
  return data;
}
