import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBodySchema, generateResponseSchema, rateLimitedBodySchema } from "@/lib/schemas";
import { generateRequest, jsonRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";

let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp({ RATE_LIMIT_MAX: "10", RATE_LIMIT_WINDOW_MS: "60000" });
});
afterAll(() => app.close());

describe("POST /api/generate", () => {
  it("answers an allowed request with the body and every rate-limit header", async () => {
    const before = Date.now();
    const res = await app.generate.POST(generateRequest("What is Valkey?", { ip: "198.51.100.1" }));
    expect(res.status).toBe(200);
    const body = generateResponseSchema.parse(await res.json());
    expect(body.cached).toBe(false);
    expect(body.identity).toBe("ip:198.51.100.1");
    expect(body.rateLimit).toMatchObject({ limit: 10, remaining: 9, policy: "anonymous", windowMs: 60000 });
    expect(body.rateLimit!.resetAt).toBeGreaterThanOrEqual(before + 60000);
    expect(body.usage.totalTokens).toBe(body.usage.promptTokens + body.usage.completionTokens);

    expect(res.headers.get("x-ratelimit-limit")).toBe("10");
    expect(res.headers.get("x-ratelimit-remaining")).toBe("9");
    expect(Number(res.headers.get("x-ratelimit-reset"))).toBe(Math.ceil(body.rateLimit!.resetAt / 1000));
    expect(res.headers.get("ratelimit-policy")).toBe('"anonymous";q=10;w=60');
    expect(res.headers.get("ratelimit")).toMatch(/^"anonymous";r=9;t=(59|60)$/);
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(res.headers.get("retry-after")).toBeNull();
    expect(res.headers.get("x-request-id")).toBe(body.requestId);
  });

  it("refuses the 11th request in the window with a 429, Retry-After and a clear body", async () => {
    const ip = "198.51.100.2";
    for (let i = 0; i < 10; i++) {
      const ok = await app.generate.POST(generateRequest(`prompt ${i}`, { ip }));
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-ratelimit-remaining")).toBe(String(9 - i));
    }
    const res = await app.generate.POST(generateRequest("one too many", { ip }));
    expect(res.status).toBe(429);
    const body = rateLimitedBodySchema.parse(await res.json());
    expect(body.error).toBe("Rate limit exceeded");
    expect(body.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(body.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(Date.parse(body.retryAfter)).toBeGreaterThan(Date.now() + 58_000);
    expect(res.headers.get("retry-after")).toBe(String(body.retryAfterSeconds));
    expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(res.headers.get("ratelimit")).toMatch(/^"anonymous";r=0;t=\d+$/);
  });

  it("answers the same prompt from another caller from the cache", async () => {
    const prompt = "Explain caching to a five-year-old";
    const first = await app.generate.POST(generateRequest(prompt, { ip: "198.51.100.3" }));
    const firstBody = generateResponseSchema.parse(await first.json());
    // Normalization: case and whitespace do not make a new entry.
    const second = await app.generate.POST(generateRequest(`  explain CACHING to a   five-year-old `, { ip: "198.51.100.4" }));
    const secondBody = generateResponseSchema.parse(await second.json());
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(secondBody.cached).toBe(true);
    expect(secondBody.response).toBe(firstBody.response);
    expect(secondBody.saved?.tokens).toBe(firstBody.usage.totalTokens);

    // Another model is another entry.
    const other = await app.generate.POST(
      jsonRequest("/api/generate", { prompt, model: "other-model" }, { ip: "198.51.100.4" }),
    );
    expect(other.headers.get("x-cache")).toBe("MISS");
  });

  it("selects the tier of a configured API key, and refuses an unknown key with 401", async () => {
    const pro = await app.generate.POST(generateRequest("hello", { headers: { authorization: "Bearer demo-pro-key" } }));
    expect(pro.status).toBe(200);
    expect(pro.headers.get("x-ratelimit-limit")).toBe("300");
    // One IETF policy item per dimension of the plan: requests, then tokens.
    expect(pro.headers.get("ratelimit-policy")).toBe('"pro";q=300;w=60, "pro-tokens";q=200000;w=60');
    const body = generateResponseSchema.parse(await pro.json());
    expect(body.identity).toMatch(/^key:[0-9a-f]{12}$/);
    expect(body.identity).not.toContain("demo-pro-key");

    const viaHeader = await app.generate.POST(generateRequest("hello", { headers: { "x-api-key": "demo-free-key" } }));
    expect(viaHeader.headers.get("x-ratelimit-limit")).toBe("30");

    const unknown = await app.generate.POST(generateRequest("hello", { headers: { authorization: "Bearer nope" } }));
    expect(unknown.status).toBe(401);
    expect(errorBodySchema.parse(await unknown.json()).code).toBe("unauthorized");
  });

  it("lets exactly the limit through out of 1,000 concurrent requests from one client", async () => {
    const ip = "198.51.100.99";
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => app.generate.POST(generateRequest(`burst ${i % 7}`, { ip }))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(990);
    const window = await app.inspect.zcard(`${app.prefix}{0}:rl:ip:${ip}`);
    expect(window).toBe(10);
  });
});

describe("bad input", () => {
  const cases: { name: string; request: () => Request; status: number; code: string }[] = [
    { name: "invalid JSON", request: () => jsonRequest("/api/generate", "{not json"), status: 400, code: "invalid_json" },
    { name: "missing prompt", request: () => jsonRequest("/api/generate", { text: "hi" }), status: 400, code: "invalid_body" },
    { name: "wrong type", request: () => jsonRequest("/api/generate", { prompt: 42 }), status: 400, code: "invalid_body" },
    { name: "empty prompt", request: () => jsonRequest("/api/generate", { prompt: "   " }), status: 400, code: "invalid_body" },
    { name: "array body", request: () => jsonRequest("/api/generate", [1, 2]), status: 400, code: "invalid_body" },
    { name: "bad model", request: () => jsonRequest("/api/generate", { prompt: "x", model: "../etc" }), status: 400, code: "invalid_body" },
    {
      name: "prompt too long",
      request: () => jsonRequest("/api/generate", { prompt: "a".repeat(4001) }),
      status: 400,
      code: "invalid_body",
    },
    {
      name: "body over the size limit",
      request: () => jsonRequest("/api/generate", { prompt: "a".repeat(20_000) }),
      status: 413,
      code: "payload_too_large",
    },
    {
      name: "not JSON content type",
      request: () => jsonRequest("/api/generate", "prompt=hi", { headers: { "content-type": "application/x-www-form-urlencoded" } }),
      status: 415,
      code: "unsupported_media_type",
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}, and no key is written`, async () => {
      const before = await keysUnder(app.inspect, app.prefix);
      const res = await app.generate.POST(c.request());
      expect(res.status).toBe(c.status);
      expect(res.headers.get("content-type")).toContain("application/json");
      const body = errorBodySchema.parse(await res.json());
      expect(body.code).toBe(c.code);
      expect(body.error.length).toBeGreaterThan(5);
      const after = await keysUnder(app.inspect, app.prefix);
      expect(after.sort()).toEqual(before.sort());
    });
  }

  it("a body streamed past the limit without Content-Length is cut off with 413", async () => {
    const chunk = new TextEncoder().encode(`{"prompt":"${"a".repeat(8000)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1;
        if (sent > 100) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const request = new Request("http://localhost/api/generate", {
      method: "POST",
      headers: { "content-type": "application/json", "x-flowgate-peer": "198.51.100.50" },
      body: stream,
      // @ts-expect-error Node's fetch needs duplex for a streamed body
      duplex: "half",
    });
    const res = await app.generate.POST(request);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(10);
  });

  it("an unsupported method → 405 JSON with Allow", async () => {
    const res = app.generate.GET();
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(errorBodySchema.parse(await res.json()).code).toBe("method_not_allowed");
  });
});
