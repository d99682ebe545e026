import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conformanceTo, type Conformance } from "../support/openapi-conformance";
import { adminRequest, chatRequest, generateRequest, jsonRequest, limitsContext, loadApp, type LoadedApp } from "../support/app";

/**
 * Every route, called live (real Valkey, the real handlers), answers what
 * GET /api/openapi.json says it does: status, content type, body and headers,
 * its successes and at least one 400, 401/403/404 and 429 of each dialect.
 * A field, header or status that drifts from the zod schemas fails here.
 */

const TOKEN = "admin-token-for-openapi-0123456789";
let app: LoadedApp;
let openapi: typeof import("@/app/api/openapi.json/route");
let doc: { openapi: string; paths: Record<string, unknown> };
let conformance: Conformance;

beforeAll(async () => {
  app = await loadApp({ ADMIN_TOKEN: TOKEN, RATE_LIMIT_MAX: "3", RATE_LIMIT_WINDOW_MS: "60000" });
  openapi = await import("@/app/api/openapi.json/route");
  const res = openapi.GET(new Request("http://localhost/api/openapi.json"));
  doc = (await res.json()) as typeof doc;
  conformance = await conformanceTo(doc);
});
afterAll(async () => {
  delete process.env.ADMIN_TOKEN;
  await app.close();
});

const check = (res: Response, method: string, path: string) => conformance.check(res, method, path);
const get = (path: string, headers: Record<string, string> = {}) =>
  new Request(`http://localhost${path}`, { headers: { "x-flowgate-peer": "203.0.113.50", ...headers } });

describe("GET /api/openapi.json", () => {
  it("serves the document with a validator-ready ETag, and a bodiless 304 for a current copy", async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const first = openapi.GET(get("/api/openapi.json"));
    expect(first.headers.get("cache-control")).toMatch(/^public, max-age=\d+/);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    await check(first, "GET", "/api/openapi.json");

    const again = openapi.GET(get("/api/openapi.json", { "if-none-match": `W/${etag}` }));
    expect(again.status).toBe(304);
    await check(again, "GET", "/api/openapi.json");
    expect(openapi.GET(get("/api/openapi.json", { "if-none-match": "*" })).status).toBe(304);
    // Another build's copy is sent whole.
    expect(openapi.GET(get("/api/openapi.json", { "if-none-match": '"stale"' })).status).toBe(200);
  });
});

describe("the OpenAI dialect (/v1)", () => {
  const ip = "198.51.100.21";

  it("POST /v1/chat/completions: a miss and a hit, whole, with every limit header (a plan with a token limit)", async () => {
    const key = { authorization: "Bearer demo-free-key" };
    for (const expected of ["MISS", "HIT"]) {
      const res = await app.chat.POST(chatRequest("openapi: whole", {}, { ip, headers: key }));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cache")).toBe(expected);
      expect(res.headers.get("x-ratelimit-limit-tokens")).not.toBeNull();
      const body = (await check(res, "POST", "/v1/chat/completions")) as { object: string };
      expect(body.object).toBe("chat.completion");
    }
  });

  it("POST /v1/chat/completions with stream: true answers text/event-stream, each event a documented chunk", async () => {
    const res = await app.chat.POST(chatRequest("openapi: streamed", { stream: true, stream_options: { include_usage: true } }, { ip }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { events, raw } = (await check(res, "POST", "/v1/chat/completions")) as { events: { object: string; usage?: unknown }[]; raw: string[] };
    expect(raw.at(-1)).toBe("[DONE]");
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.every((e) => e.object === "chat.completion.chunk")).toBe(true);
    expect(events.at(-1)?.usage).toBeTruthy();
  });

  it("400 for a bad body and an unsupported parameter, 401 for an unknown key, in OpenAI's shape", async () => {
    const bad = await app.chat.POST(jsonRequest("/v1/chat/completions", { model: "flowgate-sim-1", messages: [] }, { ip }));
    expect(bad.status).toBe(400);
    await check(bad, "POST", "/v1/chat/completions");
    const unsupported = await app.chat.POST(chatRequest("hi", { tools: [] }, { ip }));
    expect(unsupported.status).toBe(400);
    expect(((await check(unsupported, "POST", "/v1/chat/completions")) as { error: { code: string } }).error.code).toBe("unsupported_parameter");
    const wrongKey = await app.chat.POST(chatRequest("hi", {}, { ip, headers: { authorization: "Bearer not-a-configured-key" } }));
    expect(wrongKey.status).toBe(401);
    await check(wrongKey, "POST", "/v1/chat/completions");
  });

  it("429 once the plan's requests are spent, with Retry-After, retry-after-ms and the limits", async () => {
    const spender = "198.51.100.22";
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) last = await app.chat.POST(chatRequest(`openapi: spend ${i}`, {}, { ip: spender }));
    expect(last!.status).toBe(429);
    expect(last!.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(last!.headers.get("retry-after-ms")).toMatch(/^[1-9]\d*$/);
    expect(last!.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const body = (await check(last!, "POST", "/v1/chat/completions")) as { error: { code: string } };
    expect(body.error.code).toBe("rate_limit_exceeded");
  });

  it("GET /v1/models: the list, and a 401 for an unknown key", async () => {
    const res = await app.models.GET(get("/v1/models"));
    expect(res.status).toBe(200);
    expect(((await check(res, "GET", "/v1/models")) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    const wrong = await app.models.GET(get("/v1/models", { "x-api-key": "not-a-configured-key" }));
    expect(wrong.status).toBe(401);
    await check(wrong, "GET", "/v1/models");
  });
});

describe("the generate dialect and the /api routes", () => {
  it("POST /api/generate: a miss, a hit, a bypass, then a 429 with a RateLimitedBody", async () => {
    const ip = "198.51.100.31";
    const statuses: string[] = [];
    for (const headers of [{}, {}, { "cache-control": "no-cache" }] as Record<string, string>[]) {
      const res = await app.generate.POST(generateRequest("openapi: generate", { ip, headers }));
      expect(res.status).toBe(200);
      statuses.push(res.headers.get("x-cache")!);
      await check(res, "POST", "/api/generate");
    }
    expect(statuses).toEqual(["MISS", "HIT", "BYPASS"]);
    const refused = await app.generate.POST(generateRequest("openapi: generate", { ip }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    const body = (await check(refused, "POST", "/api/generate")) as { code: string; limits: unknown[] };
    expect(body.code).toBe("rate_limited");
    expect(body.limits.length).toBeGreaterThan(0);
  });

  it("POST /api/generate: 400 (bad body, bad JSON), 401 (unknown key) and 415 in the simple dialect's shape", async () => {
    const ip = "198.51.100.32";
    const cases: [Request, number][] = [
      [jsonRequest("/api/generate", { prompt: "" }, { ip }), 400],
      [jsonRequest("/api/generate", "{not json", { ip }), 400],
      [generateRequest("hi", { ip, headers: { "x-api-key": "not-a-configured-key" } }), 401],
      [generateRequest("hi", { ip, headers: { "content-type": "text/plain" } }), 415],
    ];
    for (const [request, status] of cases) {
      const res = await app.generate.POST(request);
      expect(res.status).toBe(status);
      const body = (await check(res, "POST", "/api/generate")) as { code: string };
      expect(typeof body.code).toBe("string");
    }
  });

  it("GET /api/stats and GET /api/valkey", async () => {
    const stats = await app.stats.GET(get("/api/stats"));
    expect(stats.status).toBe(200);
    expect(((await check(stats, "GET", "/api/stats")) as { connected: boolean }).connected).toBe(true);
    const views = await app.valkey.GET(get("/api/valkey"));
    expect(views.status).toBe(200);
    await check(views, "GET", "/api/valkey");
  });

  it("POST /api/simulate: whole, as NDJSON, and a 400 for a count out of bounds", async () => {
    const run = { count: 4, concurrency: 2, clients: 2, prompts: 2 };
    const whole = await app.simulate.POST(jsonRequest("/api/simulate", run, { ip: "198.51.100.41" }));
    expect(whole.status).toBe(200);
    expect(((await check(whole, "POST", "/api/simulate")) as { results: unknown[] }).results).toHaveLength(4);
    const streamed = await app.simulate.POST(jsonRequest("/api/simulate", run, { ip: "198.51.100.41", headers: { accept: "application/x-ndjson" } }));
    expect(streamed.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const { events } = (await check(streamed, "POST", "/api/simulate")) as { events: { type: string }[] };
    expect(events.map((e) => e.type)).toEqual(["start", "progress", "progress", "progress", "progress", "done"]);
    const bad = await app.simulate.POST(jsonRequest("/api/simulate", { count: 0 }, { ip: "198.51.100.41" }));
    expect(bad.status).toBe(400);
    await check(bad, "POST", "/api/simulate");
  });

  it("GET /api/health and GET /api/metrics (Prometheus text)", async () => {
    const health = await app.health.GET();
    expect(health.status).toBe(200);
    await check(health, "GET", "/api/health");
    const metrics = await app.metrics.GET();
    expect(metrics.status).toBe(200);
    expect((await check(metrics, "GET", "/api/metrics")) as string).toContain("# HELP");
  });

  it("the lab by GET (query) and POST (body), and a 400 for a limit out of bounds", async () => {
    const byQuery = await app.lab.GET(get("/api/lab?limit=4&windowMs=10000"));
    expect(byQuery.status).toBe(200);
    expect(((await check(byQuery, "GET", "/api/lab")) as { limit: number }).limit).toBe(4);
    const byBody = await app.lab.POST(jsonRequest("/api/lab", { limit: 5 }));
    expect(byBody.status).toBe(200);
    await check(byBody, "POST", "/api/lab");
    const bad = await app.lab.GET(get("/api/lab?limit=1"));
    expect(bad.status).toBe(400);
    await check(bad, "GET", "/api/lab");
  });

  it("/api/limits/{identity}: 401 without the admin token, 403 with a wrong one, 404 for an unknown identity, then read and reset", async () => {
    const identity = "ip:198.51.100.31";
    const call = (method: "GET" | "DELETE", who: string, token?: string) =>
      app.limits[method](adminRequest(who, { method, token }), limitsContext(who));
    for (const [res, status] of [
      [await call("GET", identity), 401],
      [await call("DELETE", identity, "not-the-admin-token-at-all"), 403],
      [await call("GET", "nobody", TOKEN), 404],
    ] as const) {
      expect(res.status).toBe(status);
      await check(res, res.status === 403 ? "DELETE" : "GET", "/api/limits/{identity}");
    }
    const read = await call("GET", identity, TOKEN);
    expect(read.status).toBe(200);
    expect(((await check(read, "GET", "/api/limits/{identity}")) as { identity: string }).identity).toBe(identity);
    const reset = await call("DELETE", identity, TOKEN);
    expect(reset.status).toBe(200);
    await check(reset, "DELETE", "/api/limits/{identity}");
  });
});

describe("the check itself", () => {
  it("refuses an answer with an undocumented field, a bad or missing header, or an unlisted status", async () => {
    const res = await app.generate.POST(generateRequest("openapi: tampered", { ip: "198.51.100.61" }));
    const body = (await res.json()) as Record<string, unknown>;
    const headers = Object.fromEntries(res.headers);
    const replay = (b: unknown, h: Record<string, string>, status = 200) => new Response(JSON.stringify(b), { status, headers: h });

    await expect(check(replay(body, headers), "POST", "/api/generate")).resolves.toBeTruthy();
    await expect(check(replay({ ...body, surprise: 1 }, headers), "POST", "/api/generate")).rejects.toThrow(/body does not match/);
    await expect(check(replay({ ...body, cached: "no" }, headers), "POST", "/api/generate")).rejects.toThrow(/cached/);
    const { "x-cache": _cache, ...noCache } = headers;
    await expect(check(replay(body, noCache), "POST", "/api/generate")).rejects.toThrow(/required header X-Cache/);
    await expect(check(replay(body, { ...headers, "x-cache": "MAYBE" }), "POST", "/api/generate")).rejects.toThrow(/header X-Cache/);
    await expect(check(replay(body, { ...headers, "x-flowgate-new": "1" }), "POST", "/api/generate")).rejects.toThrow(/not documented/);
    await expect(check(replay(body, headers, 418), "POST", "/api/generate")).rejects.toThrow(/lists only/);
  });
});
