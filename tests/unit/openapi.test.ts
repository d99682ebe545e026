import { readdirSync } from "node:fs";
import path from "node:path";
import { compileErrors, validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "@/lib/openapi";

/** The document is valid OpenAPI 3.1 and names every route the app serves, no more. */

const root = path.resolve(import.meta.dirname, "../..");

/** Route files under app/api and app/v1 as OpenAPI paths: [identity] → {identity}. */
function routePaths(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name === "route.ts") found.push(`/${path.posix.dirname(rel).replace(/^app\//, "")}`.replace(/\[([^\]]+)\]/g, "{$1}"));
    }
  };
  walk("app/api");
  walk("app/v1");
  return found.sort();
}

/** Not API: the catch-alls answer 404 in each dialect's shape (the document's description says so); the bench floor exists only with BENCH_ROUTES=1. */
const UNDOCUMENTED = ["/api/{...path}", "/v1/{...path}", "/api/bench/floor"];

describe("the OpenAPI document", () => {
  it("passes a real OpenAPI 3.1 validator with no error and no warning", async () => {
    // The parser dereferences what it is given: hand it a copy.
    const result = await validate(structuredClone(openApiDocument()) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(result.warnings).toEqual([]);
    expect(result.specification).toBe("OpenAPI");
    expect(openApiDocument().openapi).toMatch(/^3\.1\./);
  });

  it("documents every route file under app/api and app/v1, and nothing that has none", () => {
    const documented = Object.keys(openApiDocument().paths as object).sort();
    const served = routePaths().filter((p) => !UNDOCUMENTED.includes(p));
    expect(served.length).toBeGreaterThanOrEqual(11);
    expect(documented).toEqual(served);
  });

  it("describes each request body as sent and each answer as received (zod's input and output)", () => {
    const schemas = (openApiDocument().components as { schemas: Record<string, { required?: string[]; additionalProperties?: unknown }> }).schemas;
    // A field with a default is optional to send…
    expect(schemas.SimulateRequest?.required ?? []).toEqual([]);
    // …and always there in an answer, where z.object allows no field it does not name.
    expect(schemas.GenerateResponse?.required).toEqual(expect.arrayContaining(["response", "cached", "rateLimit", "usage", "requestId"]));
    expect(schemas.GenerateResponse?.additionalProperties).toBe(false);
    // The /api error bodies keep their details (a loose object): extra fields are allowed.
    expect(schemas.ApiError400?.additionalProperties).toEqual({});
  });
});
