import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatRequest, generateRequest, loadApp, type LoadedApp } from "../support/app";

/**
 * The prompt cache through the OpenAI door: what makes two requests the same
 * entry, how a hit is replayed (as a stream or whole, whatever the first
 * answer was), what the client's Cache-Control asks, and CACHE_SCOPE=key.
 */

let app: LoadedApp;
beforeAll(async () => {
  app = await loadApp({ SIMULATED_LATENCY_MS: "50" });
});
afterAll(() => app.close());

const pro = { headers: { authorization: "Bearer demo-pro-key" } };
type Completion = { choices: { message: { content: string } }[] };

/** The text and the number of content chunks of an SSE answer. */
async function readStream(res: Response): Promise<{ text: string; chunks: number; done: boolean }> {
  const body = await res.text();
  const events = body.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
  const parsed = events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[] });
  const pieces = parsed.map((p) => p.choices[0]?.delta.content ?? "").filter(Boolean);
  return { text: pieces.join(""), chunks: pieces.length, done: events.at(-1) === "[DONE]" };
}

const generations = async () => Number(await app.inspect.hget(app.deps.keys.totals(0), "generations"));

describe("the prompt cache for chat", () => {
  it("stores a streamed miss after its last event, then serves it whole and replays it as a stream", async () => {
    const first = await app.chat.POST(chatRequest("cache a streamed answer", { stream: true }, pro));
    expect(first.headers.get("x-cache")).toBe("MISS");
    const streamed = await readStream(first);
    expect(streamed.done).toBe(true);
    const whole = await app.chat.POST(chatRequest("cache a streamed answer", {}, pro));
    expect(whole.headers.get("x-cache")).toBe("HIT");
    expect(((await whole.json()) as Completion).choices[0]?.message.content).toBe(streamed.text);
    const replay = await app.chat.POST(chatRequest("cache a streamed answer", { stream: true }, pro));
    expect(replay.headers.get("x-cache")).toBe("HIT");
    const replayed = await readStream(replay);
    expect(replayed.text).toBe(streamed.text);
    expect(replayed.chunks).toBeGreaterThan(3);
  });

  it("keys on the model, the conversation and every parameter that changes the answer, not on the user", async () => {
    const base = { messages: [{ role: "system", content: "Terse." }, { role: "user", content: "key me" }] };
    const send = (extra: Record<string, unknown>) =>
      app.chat.POST(chatRequest("", { ...base, ...extra }, pro)).then((r) => r.headers.get("x-cache"));
    expect(await send({})).toBe("MISS");
    expect(await send({ user: "someone-else" })).toBe("HIT");
    expect(await send({ temperature: 0.2 })).toBe("MISS");
    expect(await send({ temperature: 0.2, seed: 7 })).toBe("MISS");
    expect(await send({ max_tokens: 5 })).toBe("MISS");
    expect(await send({ model: "flowgate-sim-mini" })).toBe("MISS");
    expect(await send({ messages: [{ role: "user", content: "key me" }] })).toBe("MISS");
    expect(await send({ temperature: 0.2 })).toBe("HIT");
  });

  it("shares entries with /api/generate: one user message is the same prompt through either door", async () => {
    const viaGenerate = await app.generate.POST(generateRequest("Asked by curl, answered to the SDK", pro));
    expect(viaGenerate.headers.get("x-cache")).toBe("MISS");
    const viaChat = await app.chat.POST(chatRequest("asked by curl,   answered to the SDK", {}, pro));
    expect(viaChat.headers.get("x-cache")).toBe("HIT");
    expect(((await viaChat.json()) as Completion).choices[0]?.message.content).toBe(((await viaGenerate.json()) as { response: string }).response);
  });

  it("honours Cache-Control: no-cache skips and refreshes, no-store keeps nothing, max-age bounds the entry's age", async () => {
    const cc = (value: string) => ({ headers: { ...pro.headers, "cache-control": value } });
    await app.chat.POST(chatRequest("cache control", {}, pro));
    const before = await generations();
    const bypass = await app.chat.POST(chatRequest("cache control", {}, cc("no-cache")));
    expect(bypass.headers.get("x-cache")).toBe("BYPASS");
    await bypass.text();
    expect(await generations()).toBe(before + 1);
    expect((await app.chat.POST(chatRequest("cache control", {}, pro))).headers.get("x-cache")).toBe("HIT");

    const unstored = await app.chat.POST(chatRequest("never keep this", {}, cc("no-store")));
    expect(unstored.headers.get("x-cache")).toBe("MISS");
    await unstored.text();
    expect((await app.chat.POST(chatRequest("never keep this", {}, cc("no-store")))).headers.get("x-cache")).toBe("MISS");

    const t = 1_800_000_000_000;
    app.deps.now = () => t;
    await (await app.chat.POST(chatRequest("how old may it be", {}, pro))).text();
    app.deps.now = () => t + 30_000;
    expect((await app.chat.POST(chatRequest("how old may it be", {}, cc("max-age=60")))).headers.get("x-cache")).toBe("HIT");
    const stale = await app.chat.POST(chatRequest("how old may it be", {}, cc("max-age=10")));
    expect(stale.headers.get("x-cache")).toBe("MISS");
    await stale.text();
    // The stale entry was replaced: now it is fresh enough for max-age=10.
    expect((await app.chat.POST(chatRequest("how old may it be", {}, cc("max-age=10")))).headers.get("x-cache")).toBe("HIT");
    app.deps.now = Date.now;
  });
});

describe("CACHE_SCOPE", () => {
  it("key: each API key has its own cache, so one tenant's answer never reaches another", async () => {
    const scoped = await loadApp({ CACHE_SCOPE: "key", SIMULATED_LATENCY_MS: "0" });
    try {
      const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
      expect((await scoped.chat.POST(chatRequest("tenant data", {}, as("demo-pro-key")))).headers.get("x-cache")).toBe("MISS");
      expect((await scoped.chat.POST(chatRequest("tenant data", {}, as("demo-free-key")))).headers.get("x-cache")).toBe("MISS");
      expect((await scoped.chat.POST(chatRequest("tenant data", {}, as("demo-pro-key")))).headers.get("x-cache")).toBe("HIT");
    } finally {
      await scoped.close();
    }
    app = await loadApp({ VALKEY_PREFIX: app.prefix, SIMULATED_LATENCY_MS: "50", CACHE_SCOPE: "global" });
    // global (the default): the second key is answered from the first's entry.
    expect((await app.chat.POST(chatRequest("shared data", {}, pro))).headers.get("x-cache")).toBe("MISS");
    expect((await app.chat.POST(chatRequest("shared data", {}, { headers: { authorization: "Bearer demo-free-key" } }))).headers.get("x-cache")).toBe("HIT");
  });
});
