import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream";
import { startBridge, type Bridge } from "../support/http-bridge";
import { loadApp, type LoadedApp } from "../support/app";

/**
 * Flowgate in front of a real OpenAI-compatible server (a small one of our
 * own: no model provider is reachable from here), driven by the official
 * openai SDK over real HTTP: passthrough, streams that are not buffered, a
 * client that leaves, upstream failures mapped to 429/502/504, usage-based
 * token settlement, and one generation for identical concurrent prompts even
 * when the model is slower than the generation lock's lifetime.
 */

let upstream: FakeUpstream;
const opened: { app: LoadedApp; bridge: Bridge }[] = [];
const NOW = 1_800_000_000_000;

async function serve(env: Record<string, string> = {}): Promise<{ app: LoadedApp; bridge: Bridge; client: (key?: string) => OpenAI }> {
  const app = await loadApp({
    UPSTREAM_BASE_URL: upstream.url,
    UPSTREAM_API_KEY: "sk-upstream-secret",
    UPSTREAM_MODEL_MAP: "gpt-4o-mini=fake-model",
    UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "1000",
    UPSTREAM_IDLE_TIMEOUT_MS: "1000",
    ...env,
  });
  const bridge = await startBridge(app);
  opened.push({ app, bridge });
  return { app, bridge, client: (apiKey = "demo-free-key") => new OpenAI({ baseURL: `${bridge.url}/v1`, apiKey, maxRetries: 0 }) };
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  for (const o of opened) {
    await o.bridge.close();
    await o.app.close();
  }
  await upstream.close();
});

const ask = (content: string) => ({ model: "gpt-4o-mini", messages: [{ role: "user" as const, content }] });
const tokenKey = (app: LoadedApp, id: string) => `${app.prefix}{0}:rl:tokens.token-bucket:${id}`;
/** Whole tokens left in a free key's bucket (the clock is fixed: no refill). */
async function tokensLeft(app: LoadedApp, id: string): Promise<number> {
  const level = await app.inspect.hget(tokenKey(app, id), "lvl");
  return level === null ? 20_000 : Math.floor(Number(level) / 60_000);
}

describe("an OpenAI-compatible upstream behind the gateway", () => {
  it("passes the answer and the upstream's usage through, maps the model, keeps its key, and settles tokens by real usage", async () => {
    upstream.setBehavior({ reply: "one two three four five" });
    const { app, client } = await serve();
    app.deps.now = () => NOW;
    const before = upstream.requests.length;
    const res = await client().chat.completions.create({ ...ask("passthrough please"), max_tokens: 100 }).withResponse();
    expect(res.data.choices[0]?.message.content).toBe("one two three four five");
    const sent = upstream.requests[before]!;
    expect(sent.body).toMatchObject({ model: "fake-model", max_tokens: 100, stream: true, stream_options: { include_usage: true } });
    expect(sent.headers.authorization).toBe("Bearer sk-upstream-secret");
    // The fake counts a token per 4 prompt characters and one per reply word: its usage is what is charged.
    expect(res.data.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
    const id = res.response.headers.get("x-flowgate-identity")!;
    // Reserved: 5 estimated prompt tokens + max_tokens 100; settled to the 10 used.
    expect(res.response.headers.get("x-ratelimit-remaining-tokens")).toBe(String(20_000 - 105));
    expect(await tokensLeft(app, id)).toBe(20_000 - 10);

    const models = await client().models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(["fake-model", "gpt-4o-mini"]);
  });

  it("streams without buffering: the first chunk reaches the SDK before the upstream has sent its last", async () => {
    upstream.setBehavior({ reply: "a b c d e f", chunkDelayMs: 150 });
    const { client } = await serve();
    const before = upstream.requests.length;
    const stream = await client().chat.completions.create({ ...ask("stream without buffering"), stream: true });
    let firstAt = 0;
    let text = "";
    for await (const chunk of stream) {
      if (!firstAt && chunk.choices[0]?.delta.content) firstAt = performance.now();
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("a b c d e f");
    const times = upstream.requests[before]!.chunkTimes;
    expect(firstAt).toBeGreaterThan(0);
    expect(firstAt).toBeLessThan(times.at(-1)!);
  });

  it("aborts the upstream call when the client leaves mid-stream, caches nothing, and charges only what was produced", async () => {
    upstream.setBehavior({ reply: Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 50 });
    const { app, client } = await serve();
    app.deps.now = () => NOW;
    const closedBefore = upstream.closedEarly();
    const controller = new AbortController();
    const stream = await client().chat.completions.create({ ...ask("leave me halfway"), stream: true }, { signal: controller.signal });
    const response = await stream.toReadableStream().getReader().read();
    expect(response.done).toBe(false);
    controller.abort();
    const deadline = Date.now() + 5000;
    while (upstream.closedEarly() === closedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(upstream.closedEarly()).toBe(closedBefore + 1);
    // Settled in the background: wait for the event.
    let event: string[] = [];
    while (Date.now() < deadline) {
      const entries = (await app.inspect.xrange(`${app.prefix}{0}:events`, "-", "+")) as [string, string[]][];
      event = entries.map(([, f]) => f).find((f) => f.includes("aborted")) ?? [];
      if (event.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const fields = Object.fromEntries(event.reduce<string[][]>((acc, v, i) => (i % 2 ? acc : [...acc, [v, event[i + 1]!]]), []));
    expect(fields).toMatchObject({ type: "miss", fin: "aborted", door: "openai", model: "gpt-4o-mini" });
    const charged = Number(fields.tok);
    expect(charged).toBeGreaterThan(0);
    // The plan reserves 512 completion tokens; a cut-off answer pays only its prompt and what it produced.
    expect(charged).toBeLessThan(4 + 40);
    const left = await tokensLeft(app, String(fields.who));
    expect(left).toBe(20_000 - charged);
    // Nothing was cached: the same request is a miss and reaches the upstream again.
    upstream.setBehavior({ reply: "complete this time" });
    const again = await client().chat.completions.create(ask("leave me halfway")).withResponse();
    expect(again.response.headers.get("x-cache")).toBe("MISS");
  });

  it("maps upstream failures: its 429 with its delay, a 500 to 502, a silent upstream to 504; no upstream text leaks", async () => {
    const { client } = await serve();
    upstream.setBehavior({ status: 429, headers: { "retry-after-ms": "1200" }, body: { error: { message: "upstream says slow down sk-upstream-secret" } } });
    const limited = await client().chat.completions.create(ask("upstream 429")).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after-ms")).toBe("1200");
    expect((limited as Error).message).not.toMatch(/slow down|sk-upstream/);

    upstream.setBehavior({ status: 500, body: { error: { message: "kernel panic in the model server" } } });
    const failed = await client().chat.completions.create(ask("upstream 500")).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((failed as InstanceType<typeof OpenAI.APIError>).code).toBe("upstream_error");
    expect((failed as Error).message).not.toMatch(/kernel panic/);

    upstream.setBehavior({ firstByteDelayMs: 3000 });
    const slow = await client().chat.completions.create(ask("upstream silent")).catch((e: unknown) => e);
    expect((slow as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((slow as InstanceType<typeof OpenAI.APIError>).code).toBe("upstream_timeout");
    upstream.setBehavior({});
  });

  it("runs one generation for identical prompts on two instances, though the model outlives the lock's TTL", async () => {
    upstream.setBehavior({ reply: "slow but single", chunkDelayMs: 400 });
    // Lock lives 300 ms; the generation takes ~1.2 s: only renewal keeps the second instance waiting.
    const a = await serve({ STAMPEDE_LOCK_MS: "300", STAMPEDE_WAIT_MS: "20000" });
    const b = await serve({ STAMPEDE_LOCK_MS: "300", STAMPEDE_WAIT_MS: "20000", VALKEY_PREFIX: a.app.prefix });
    const before = upstream.requests.length;
    const first = a.client("demo-pro-key").chat.completions.create(ask("one generation only")).withResponse();
    await new Promise((r) => setTimeout(r, 100));
    const [x, y, z] = await Promise.all([
      first,
      b.client("demo-pro-key").chat.completions.create(ask("one generation only")).withResponse(),
      // A same-process stream waiter reads the owner's stream as it comes.
      a.client("demo-pro-key").chat.completions.create({ ...ask("one generation only"), stream: true }).then(async (s) => {
        let t = "";
        for await (const c of s) t += c.choices[0]?.delta.content ?? "";
        return t;
      }),
    ]);
    expect(upstream.requests.length - before).toBe(1);
    expect(x.response.headers.get("x-cache")).toBe("MISS");
    expect(y.response.headers.get("x-cache")).toBe("HIT");
    expect(y.data.choices[0]?.message.content).toBe("slow but single");
    expect(z).toBe("slow but single");
  });

  it("keeps generating for same-process waiters when the owner's client leaves, and caches the answer", async () => {
    upstream.setBehavior({ reply: "one two three four five six", chunkDelayMs: 100 });
    const { client } = await serve();
    const closedBefore = upstream.closedEarly();
    const before = upstream.requests.length;
    const controller = new AbortController();
    const owner = await client().chat.completions.create({ ...ask("owner leaves, waiter stays"), stream: true }, { signal: controller.signal });
    const reader = owner.toReadableStream().getReader();
    await reader.read();
    const waiter = client().chat.completions.create(ask("owner leaves, waiter stays")).withResponse();
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    const answered = await waiter;
    expect(answered.data.choices[0]?.message.content).toBe("one two three four five six");
    expect(answered.response.headers.get("x-flowgate-coalesced")).toBe("1");
    expect(upstream.requests.length - before).toBe(1);
    expect(upstream.closedEarly()).toBe(closedBefore);
    expect((await client().chat.completions.create(ask("owner leaves, waiter stays")).withResponse()).response.headers.get("x-cache")).toBe("HIT");
  });
});
