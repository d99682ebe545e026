import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBodySchema } from "@/lib/schemas";
import { keysUnder, loadApp, type LoadedApp } from "../support/app";

/**
 * Property-based bad input: random bodies, content types, header values and
 * sizes. Whatever comes in, the answer is a known 2xx/4xx with a JSON body,
 * never a 5xx, and a refused request leaves the keyspace as it was.
 */

const ALLOWED = new Set([200, 400, 401, 403, 405, 413, 415, 429]);
let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "1000000", MAX_BODY_BYTES: "4096" });
});
afterAll(() => app.close());

// Header values a client can really send: Latin-1 (HTTP header bytes), control characters, huge.
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 1, max: 255 }).filter((c) => c !== 10 && c !== 13).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constant("x".repeat(20_000)),
  fc.constantFrom("Bearer demo-pro-key", "Bearer ", "Bearer\t\tdemo-free-key", "bearer DEMO-PRO-KEY", "Basic Zm9vOmJhcg=="),
);

const contentType = fc.oneof(
  fc.constantFrom("application/json", "application/json; charset=utf-8", "application/vnd.api+json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/jsonx"),
  fc.string({ maxLength: 30 }),
);

const body = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.record({ prompt: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 200 }), fc.integer(), fc.constant(null)), model: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }) }).map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 6000 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
  fc.integer({ min: 3000, max: 9000 }).map((n) => JSON.stringify({ prompt: "p".repeat(n) })),
);

function toRequest(path: string, input: { body: string; contentType: string; headers: [string, string][]; xff: string[] }): Request | null {
  const headers = new Headers();
  try {
    if (input.contentType) headers.set("content-type", input.contentType);
    headers.set("x-flowgate-peer", "198.51.100.200");
    for (const [k, v] of input.headers) headers.set(k, v);
    for (const hop of input.xff) headers.append("x-forwarded-for", hop);
  } catch {
    return null; // a value no HTTP client can send (Headers refuses it)
  }
  return new Request(`http://localhost${path}`, { method: "POST", headers, body: input.body });
}

const requestInput = fc.record({
  body,
  contentType,
  headers: fc.array(fc.tuple(fc.constantFrom("authorization", "x-api-key", "x-real-ip", "accept", "user-agent"), headerValue), { maxLength: 3 }),
  xff: fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), { maxLength: 4 }),
});

async function expectSaneAnswer(res: Response): Promise<void> {
  expect(ALLOWED.has(res.status), `status ${res.status}`).toBe(true);
  if (res.status !== 200 || !(res.headers.get("content-type") ?? "").includes("ndjson")) {
    const json = await res.json();
    if (res.status >= 400) errorBodySchema.parse(json);
  } else {
    await res.text();
  }
}

describe("property: /api/generate never fails on input", () => {
  it("answers every random request with an allowed status; refused ones write nothing", async () => {
    await fc.assert(
      fc.asyncProperty(requestInput, async (input) => {
        const request = toRequest("/api/generate", input);
        if (!request) return;
        const before = await keysUnder(app.inspect, app.prefix);
        const res = await app.generate.POST(request);
        await expectSaneAnswer(res);
        if (res.status === 401) {
          // A wrong key is counted against its address (one expiring counter), and writes nothing else.
          const counter = app.deps.keys.authFailures(0, "ip:198.51.100.200");
          const others = (keys: string[]) => keys.filter((key) => key !== counter);
          expect(others(await keysUnder(app.inspect, app.prefix))).toEqual(others(before));
        } else if (res.status !== 200 && res.status !== 429) {
          expect(await keysUnder(app.inspect, app.prefix)).toEqual(before);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe("property: /api/simulate never fails on input", () => {
  it("answers every random request with an allowed status", async () => {
    const simulateBody = fc.oneof(
      body,
      fc
        .record({
          count: fc.oneof(fc.integer({ min: -5, max: 60 }), fc.double(), fc.string({ maxLength: 5 }), fc.constant(1e12)),
          concurrency: fc.option(fc.integer({ min: -1, max: 80 }), { nil: undefined }),
          clients: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
          prompts: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
          tier: fc.option(fc.constantFrom("anonymous", "free", "pro", "enterprise", "mixed", "root", ""), { nil: undefined }),
        })
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ body: simulateBody, contentType, headers: fc.constant<[string, string][]>([]), xff: fc.constant<string[]>([]) }), async (input) => {
        const request = toRequest("/api/simulate", input);
        if (!request) return;
        await expectSaneAnswer(await app.simulate.POST(request));
      }),
      { numRuns: 80 },
    );
  });
});

describe("property: the admin routes never fail on input", () => {
  it("answer every random identity and token with 200/401/403/404, never a 5xx", async () => {
    const token = "admin-token-for-property-tests";
    const admin = await loadApp({ ADMIN_TOKEN: token, RATE_LIMIT_MAX: "1000000" });
    const route = await import("@/app/api/limits/[identity]/route");
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 60 }),
            fc.constantFrom("ip:1.2.3.4", "key:0123456789ab", "sim:pro:1", "%", "%E0%A4%A", "ip:%zz", "key:" + "f".repeat(500), "../../etc", ""),
            fc.string({ unit: "grapheme", maxLength: 30 }),
          ),
          fc.oneof(fc.constant(`Bearer ${token}`), fc.constant(""), fc.constant("Bearer wrong"), headerValue),
          fc.constantFrom("GET", "DELETE"),
          async (identity, authorization, method) => {
            const headers = new Headers();
            try {
              if (authorization) headers.set("authorization", authorization);
            } catch {
              return;
            }
            const request = new Request(`http://localhost/api/limits/x`, { method, headers });
            const context = { params: Promise.resolve({ identity }) };
            const res = method === "GET" ? await route.GET(request, context) : await route.DELETE(request, context);
            expect([200, 401, 403, 404]).toContain(res.status);
            const body = await res.json();
            if (res.status >= 400) errorBodySchema.parse(body);
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      await admin.close();
    }
  });
});
