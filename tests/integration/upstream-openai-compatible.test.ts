import net from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createOpenAICompatibleUpstream, type OpenAICompatibleOptions } from "@/lib/gateway/upstreams/openai-compatible";
import { UpstreamError, type UpstreamEvent, type UpstreamRequest } from "@/lib/gateway/upstreams/types";
import { startBlackhole, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream";

/**
 * The OpenAI-compatible upstream against a real HTTP server on loopback: what
 * it passes through, that it streams as it receives, that every way out closes
 * the upstream's connection, and how each failure is classified.
 */

let fake: FakeUpstream;
beforeEach(async () => {
  fake = await startFakeUpstream();
});
afterEach(() => fake.close());

function upstreamAt(baseUrl: string, options: Partial<OpenAICompatibleOptions> = {}) {
  return createOpenAICompatibleUpstream({
    baseUrl,
    connectTimeoutMs: 2_000,
    firstByteTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    totalTimeoutMs: 20_000,
    ...options,
  });
}

function chatRequest(request: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    model: "fake-model",
    messages: [{ role: "user", content: "hello there" }],
    maxTokens: 64,
    params: {},
    signal: new AbortController().signal,
    ...request,
  };
}

async function collect(events: AsyncIterable<UpstreamEvent>) {
  const all: UpstreamEvent[] = [];
  for await (const event of events) all.push(event);
  const done = all.filter((e) => e.type === "done");
  expect(done).toHaveLength(1);
  expect(all.at(-1)).toBe(done[0]);
  return { text: all.map((e) => (e.type === "delta" ? e.text : "")).join(""), deltas: all.length - 1, done: done[0]! };
}

async function failureOf(run: Promise<unknown>): Promise<UpstreamError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

const abandoned = (count: number) => vi.waitFor(() => expect(fake.closedEarly()).toBe(count), { timeout: 5_000 });

describe("OpenAI-compatible upstream: passthrough", () => {
  it("passes the text, the upstream's usage, finish_reason and model through, ending with one done", async () => {
    fake.setBehavior({ reply: "The quick brown fox" });
    const answer = await collect(upstreamAt(fake.url).generate(chatRequest()));
    expect(answer.text).toBe("The quick brown fox");
    expect(answer.done).toEqual({
      type: "done",
      finishReason: "stop",
      usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
      model: "fake-model",
    });
    expect(fake.closedEarly()).toBe(0);
  });

  it("passes finish_reason length when max_tokens cuts the answer", async () => {
    fake.setBehavior({ reply: "The quick brown fox" });
    const answer = await collect(upstreamAt(fake.url).generate(chatRequest({ maxTokens: 2 })));
    expect(answer.text).toBe("The quick ");
    expect(answer.done).toMatchObject({ finishReason: "length", usage: { completionTokens: 2 } });
  });

  it("sends the mapped model, max_tokens, the set params, a stream with usage, and the key", async () => {
    const upstream = upstreamAt(`${fake.url}/`, { apiKey: "sk-test", modelMap: { fast: "llama3:8b" } });
    const answer = await collect(
      upstream.generate(chatRequest({ model: "fast", maxTokens: 16, params: { temperature: 0.2, seed: 7 } })),
    );
    const sent = fake.requests[0]!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe("Bearer sk-test");
    expect(sent.body).toEqual({
      model: "llama3:8b",
      messages: [{ role: "user", content: "hello there" }],
      max_tokens: 16,
      temperature: 0.2,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(answer.done.model).toBe("llama3:8b");
  });

  it("reports usage null when the upstream sends no usage chunk", async () => {
    fake.setBehavior({ usage: false });
    const answer = await collect(upstreamAt(fake.url).generate(chatRequest()));
    expect(answer.text).toBe("You said: hello there");
    expect(answer.done.usage).toBeNull();
  });

  it("accepts a stream that ends after its finish_reason without [DONE]", async () => {
    fake.setBehavior({ events: [JSON.stringify({ choices: [{ delta: { content: "hi" }, finish_reason: "stop" }] })] });
    const answer = await collect(upstreamAt(fake.url).generate(chatRequest()));
    expect(answer).toMatchObject({ text: "hi", done: { finishReason: "stop", usage: null, model: "fake-model" } });
  });
});

describe("OpenAI-compatible upstream: streaming and closing", () => {
  it("hands each delta on as it arrives: the first before the server writes its last chunk", async () => {
    fake.setBehavior({ reply: "one two three four five six", chunkDelayMs: 100 });
    let firstDeltaAt: number | undefined;
    let deltas = 0;
    for await (const event of upstreamAt(fake.url).generate(chatRequest())) {
      if (event.type !== "delta") continue;
      firstDeltaAt ??= performance.now();
      deltas += 1;
    }
    expect(deltas).toBe(6);
    expect(firstDeltaAt).toBeLessThan(fake.requests[0]!.chunkTimes.at(-1)!);
  });

  it("closes the upstream's connection when the consumer breaks out", async () => {
    fake.setBehavior({ reply: "one two three four five six seven eight", chunkDelayMs: 100 });
    for await (const event of upstreamAt(fake.url).generate(chatRequest())) {
      if (event.type === "delta") break;
    }
    await abandoned(1);
    expect(fake.requests[0]!.chunkTimes.length).toBeLessThan(8);
  });

  it("closes the upstream's connection and throws aborted when the request's signal aborts", async () => {
    fake.setBehavior({ reply: "one two three four five six seven eight", chunkDelayMs: 100 });
    const client = new AbortController();
    const error = await failureOf(
      (async () => {
        for await (const event of upstreamAt(fake.url).generate(chatRequest({ signal: client.signal }))) {
          if (event.type === "delta") client.abort();
        }
      })(),
    );
    expect(error.kind).toBe("aborted");
    expect(error.details.producedTokens).toBeGreaterThan(0);
    await abandoned(1);
  });
});

describe("OpenAI-compatible upstream: error statuses", () => {
  it.each([
    ["retry-after-ms", "1500", 1500],
    ["retry-after", "2", 2000],
  ])("429 with %s: %s → rate_limited with retryAfterMs %i", async (header, value, retryAfterMs) => {
    fake.setBehavior({ status: 429, headers: { [header]: value } });
    const error = await failureOf(collect(upstreamAt(fake.url).generate(chatRequest())));
    expect(error.kind).toBe("rate_limited");
    expect(error.details).toMatchObject({ status: 429, retryAfterMs });
  });

  it("429 with an HTTP-date retry-after → the ms until that date", async () => {
    fake.setBehavior({ status: 429, headers: { "retry-after": new Date(Date.now() + 5_000).toUTCString() } });
    const error = await failureOf(collect(upstreamAt(fake.url).generate(chatRequest())));
    expect(error.details.retryAfterMs).toBeGreaterThan(0);
    expect(error.details.retryAfterMs).toBeLessThanOrEqual(5_000);
  });

  it.each([
    [500, "upstream_error"],
    [401, "upstream_error"],
    [403, "upstream_error"],
    [404, "model_not_found"],
    [400, "bad_request"],
    [422, "bad_request"],
  ])("%i → %s", async (status, kind) => {
    fake.setBehavior({ status });
    const error = await failureOf(collect(upstreamAt(fake.url).generate(chatRequest())));
    expect(error.kind).toBe(kind);
    expect(error.details.status).toBe(status);
  });

  it("keeps the upstream key out of the message even when the upstream echoes it", async () => {
    fake.setBehavior({ status: 401, body: { error: { message: "Incorrect API key provided: sk-secret-123" } } });
    const error = await failureOf(collect(upstreamAt(fake.url, { apiKey: "sk-secret-123" }).generate(chatRequest())));
    expect(error.kind).toBe("upstream_error");
    expect(error.message).toContain("Incorrect API key provided");
    expect(error.message).not.toContain("sk-secret-123");
  });
});

describe("OpenAI-compatible upstream: broken streams", () => {
  it("a hang-up mid-stream → upstream_error with the tokens produced so far", async () => {
    fake.setBehavior({ reply: "one two three four five six", chunkDelayMs: 50, hangUpAfterChunks: 3 });
    const seen: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const event of upstreamAt(fake.url).generate(chatRequest())) {
          if (event.type === "delta") seen.push(event.text);
        }
      })(),
    );
    expect(error.kind).toBe("upstream_error");
    expect(seen.join("")).toBe("one two three ");
    expect(error.details.producedTokens).toBe(Math.ceil("one two three ".length / 4));
  });

  const hel = JSON.stringify({ choices: [{ delta: { content: "Hel" } }] });
  it.each([
    ["an error event", [hel, JSON.stringify({ error: { message: "model crashed" } })]],
    ["invalid JSON", [hel, "{not json"]],
    ["an end without [DONE] or finish_reason", [hel]],
  ])("%s → upstream_error with producedTokens", async (_, events) => {
    fake.setBehavior({ events });
    const error = await failureOf(collect(upstreamAt(fake.url).generate(chatRequest())));
    expect(error.kind).toBe("upstream_error");
    expect(error.details.producedTokens).toBe(1);
  });

  it("a refused connection → upstream_error", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failureOf(collect(upstreamAt(`http://127.0.0.1:${port}/v1`).generate(chatRequest())));
    expect(error.kind).toBe("upstream_error");
  });
});

describe("OpenAI-compatible upstream: timeouts", () => {
  it("no response headers within firstByteTimeoutMs → timeout first_byte, connection closed", async () => {
    fake.setBehavior({ firstByteDelayMs: 2_000 });
    const error = await failureOf(collect(upstreamAt(fake.url, { firstByteTimeoutMs: 300 }).generate(chatRequest())));
    expect(error).toMatchObject({ kind: "timeout", details: { phase: "first_byte" } });
    await abandoned(1);
  });

  it("headers but no SSE event within firstByteTimeoutMs → timeout first_byte", async () => {
    fake.setBehavior({ stallAfterChunks: 0 });
    const error = await failureOf(collect(upstreamAt(fake.url, { firstByteTimeoutMs: 300 }).generate(chatRequest())));
    expect(error).toMatchObject({ kind: "timeout", details: { phase: "first_byte" } });
    await abandoned(1);
  });

  it("silence mid-stream for idleTimeoutMs → timeout idle, with the tokens produced so far", async () => {
    fake.setBehavior({ reply: "one two three four", stallAfterChunks: 2 });
    const error = await failureOf(collect(upstreamAt(fake.url, { idleTimeoutMs: 300 }).generate(chatRequest())));
    expect(error).toMatchObject({ kind: "timeout", details: { phase: "idle", producedTokens: 2 } });
    await abandoned(1);
  });

  it("a stream that keeps talking past totalTimeoutMs → timeout total", async () => {
    fake.setBehavior({ reply: "word ".repeat(40), chunkDelayMs: 100 });
    const error = await failureOf(collect(upstreamAt(fake.url, { totalTimeoutMs: 800 }).generate(chatRequest())));
    expect(error).toMatchObject({ kind: "timeout", details: { phase: "total" } });
    await abandoned(1);
  });

  it("a connect that never completes → timeout connect", async () => {
    const blackhole = await startBlackhole();
    try {
      const upstream = upstreamAt(blackhole.url, { connectTimeoutMs: 300, firstByteTimeoutMs: 10_000 });
      const error = await failureOf(collect(upstream.generate(chatRequest())));
      expect(error).toMatchObject({ kind: "timeout", details: { phase: "connect" } });
    } finally {
      await blackhole.close();
    }
  });
});

describe("OpenAI-compatible upstream: models", () => {
  it("lists the upstream's models plus every name of the model map, once each", async () => {
    fake.setBehavior({ models: ["llama3:8b", "qwen2:7b"] });
    const upstream = upstreamAt(fake.url, { apiKey: "sk-test", modelMap: { fast: "llama3:8b", "qwen2:7b": "qwen2:7b" } });
    expect(await upstream.listModels()).toEqual([
      { id: "llama3:8b", created: 1_700_000_000, ownedBy: "fake" },
      { id: "qwen2:7b", created: 1_700_000_000, ownedBy: "fake" },
      { id: "fast", created: 1_700_000_000, ownedBy: "fake" },
    ]);
    expect(fake.requests[0]).toMatchObject({ path: "/v1/models", headers: { authorization: "Bearer sk-test" } });
  });

  it("maps an error status the same way", async () => {
    fake.setBehavior({ status: 401 });
    const error = await failureOf(upstreamAt(fake.url).listModels());
    expect(error).toMatchObject({ kind: "upstream_error", details: { status: 401 } });
  });
});

describe("fake upstream", () => {
  it("answers stream: false with a whole chat.completion and its usage", async () => {
    const response = await fetch(`${fake.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(await response.json()).toMatchObject({
      object: "chat.completion",
      model: "m",
      choices: [{ message: { role: "assistant", content: "You said: hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
    });
  });
});
