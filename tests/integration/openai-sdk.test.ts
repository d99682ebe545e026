import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBridge, type Bridge } from "../support/http-bridge";
import { loadApp, type LoadedApp } from "../support/app";

/**
 * The official openai SDK, pointed at Flowgate over real HTTP, as a user's
 * app would be: whole answers and streams, the headers it reads, its own
 * retries on a 429, and its error classes.
 */

let bridge: Bridge;
const opened: { app: LoadedApp; bridge: Bridge }[] = [];

async function serve(env: Record<string, string>): Promise<{ app: LoadedApp; bridge: Bridge }> {
  const a = await loadApp(env);
  const b = await startBridge(a);
  opened.push({ app: a, bridge: b });
  return { app: a, bridge: b };
}

/** A client that sends no API key at all: limited by its address, as curl without a key is. */
function anonymous(url: string, options: ConstructorParameters<typeof OpenAI>[0] = {}) {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", defaultHeaders: { Authorization: null }, ...options });
}

beforeAll(async () => {
  ({ bridge } = await serve({ SIMULATED_LATENCY_MS: "200" }));
});
afterAll(async () => {
  for (const o of opened) {
    await o.bridge.close();
    await o.app.close();
  }
});

const sdk = (apiKey = "demo-pro-key", options: ConstructorParameters<typeof OpenAI>[0] = {}) =>
  new OpenAI({ baseURL: `${bridge.url}/v1`, apiKey, maxRetries: 0, ...options });

describe("the openai SDK through /v1", () => {
  it("gets a chat.completion with usage and the rate-limit headers, then the same answer from the cache", async () => {
    const client = sdk();
    const ask = () =>
      client.chat.completions
        .create({ model: "flowgate-sim-1", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What does a gateway do?" }] })
        .withResponse();
    const first = await ask();
    expect(first.data.object).toBe("chat.completion");
    expect(first.data.choices[0]?.message.role).toBe("assistant");
    expect(first.data.choices[0]?.message.content).toMatch(/What does a gateway do\?/);
    expect(first.data.choices[0]?.finish_reason).toBe("stop");
    const usage = first.data.usage!;
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(first.response.headers.get("x-cache")).toBe("MISS");
    expect(first.response.headers.get("x-ratelimit-limit-requests")).toBe("300");
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("299");
    expect(first.response.headers.get("x-ratelimit-limit-tokens")).toBe("200000");
    expect(first.response.headers.get("x-ratelimit-reset-tokens")).toMatch(/^\d+(\.\d+)?(ms|s)$/);

    const second = await ask();
    expect(second.response.headers.get("x-cache")).toBe("HIT");
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    expect(second.data.id).not.toBe(first.data.id);
  });

  it("streams chat.completion.chunk events with a usage chunk when asked, ending the SDK's iterator", async () => {
    const stream = await sdk().chat.completions.create({
      model: "flowgate-sim-1",
      messages: [{ role: "user", content: "Stream me an answer about sliding windows" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(text).toMatch(/sliding windows/);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    // The whole answer asked again is the streamed one, from the cache.
    const whole = await sdk().chat.completions.create({
      model: "flowgate-sim-1",
      messages: [{ role: "user", content: "Stream me an answer about sliding windows" }],
    });
    expect(whole.choices[0]?.message.content).toBe(text);
    expect(whole.usage).toEqual(last.usage);
  });

  it("lists the models, and answers SDK error classes for 400, 401 and 404 in OpenAI's shape", async () => {
    const models = await sdk().models.list();
    expect(models.data.map((m) => m.id)).toContain("flowgate-sim-1");

    const bad = await sdk()
      .chat.completions.create({ model: "flowgate-sim-1", messages: [{ role: "user", content: "hi" }], n: 2 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("n");
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/only n = 1/);

    const tools = await sdk()
      .chat.completions.create({
        model: "flowgate-sim-1",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "f", parameters: {} } }],
      })
      .catch((e: unknown) => e);
    expect(tools).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tools as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("unsupported_parameter");

    const unknownKey = await sdk("sk-not-a-flowgate-key").models.list().catch((e: unknown) => e);
    expect(unknownKey).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((unknownKey as InstanceType<typeof OpenAI.AuthenticationError>).message).toMatch(/API_KEYS/);

    const missing = await sdk().embeddings.create({ model: "x", input: "hi" }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(/\/v1\/embeddings/);
  });
});

describe("429s the SDK can act on", () => {
  afterEach(() => undefined);

  it("retries by itself after retry-after-ms, and the retry succeeds", async () => {
    const { bridge: b } = await serve({ RATE_LIMIT_MAX: "1", RATE_LIMIT_WINDOW_MS: "1500", SIMULATED_LATENCY_MS: "0" });
    const client = anonymous(b.url, { maxRetries: 2 });
    await client.chat.completions.create({ model: "flowgate-sim-1", messages: [{ role: "user", content: "one" }] });
    const started = performance.now();
    const second = await client.chat.completions
      .create({ model: "flowgate-sim-1", messages: [{ role: "user", content: "two" }] })
      .withResponse();
    expect(second.response.status).toBe(200);
    // One refusal, then the SDK waited the delay it was given and was admitted.
    expect(b.seen.filter((s) => s === "POST /v1/chat/completions")).toHaveLength(3);
    expect(performance.now() - started).toBeGreaterThan(500);
    expect(second.response.headers.get("x-flowgate-identity")).toBe("ip:127.0.0.1");
  });

  it("sends x-should-retry: false when the request can never fit, and the SDK does not retry", async () => {
    const { bridge: b } = await serve({ RATE_LIMIT_TOKENS: "1000", SIMULATED_LATENCY_MS: "0" });
    const client = anonymous(b.url, { maxRetries: 2 });
    const refused = await client.chat.completions
      .create({ model: "flowgate-sim-1", messages: [{ role: "user", content: "hi" }], max_tokens: 5000 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.headers?.get("x-should-retry")).toBe("false");
    // One Retry-After, in seconds, beside the SDK's retry-after-ms.
    expect(error.headers?.get("retry-after")).toMatch(/^\d+$/);
    expect(Number(error.headers?.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(error.type).toBe("tokens");
    expect(error.message).toMatch(/can never fit/);
    expect(b.seen.filter((s) => s === "POST /v1/chat/completions")).toHaveLength(1);
  });
});

describe("bodies real apps send", () => {
  it("takes a long conversation (80 KB, past /api/generate's 16 KB limit), and refuses one past CHAT_MAX_BODY_BYTES with a 413 the SDK reads", async () => {
    const history = Array.from({ length: 40 }, (_, i) => ({ role: (i % 2 ? "assistant" : "user") as "user" | "assistant", content: `${i} `.padEnd(2000, "context ") }));
    const long = await sdk().chat.completions.create({ model: "flowgate-sim-1", messages: [...history, { role: "user", content: "and now?" }] });
    expect(long.choices[0]?.message.content).toMatch(/and now\?/);
    expect(long.usage!.prompt_tokens).toBeGreaterThan(20_000);

    const { bridge: small } = await serve({ CHAT_MAX_BODY_BYTES: "4096" });
    const tooBig = await new OpenAI({ baseURL: `${small.url}/v1`, apiKey: "demo-pro-key", maxRetries: 0 })
      .chat.completions.create({ model: "flowgate-sim-1", messages: history })
      .catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(OpenAI.APIError);
    expect((tooBig as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((tooBig as InstanceType<typeof OpenAI.APIError>).code).toBe("request_too_large");
  });
});
