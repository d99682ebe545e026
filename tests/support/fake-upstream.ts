/**
 * A real OpenAI-compatible HTTP server for tests (node:http on 127.0.0.1, a
 * free port): POST /v1/chat/completions, streamed or whole, and GET
 * /v1/models, with behaviours a real upstream shows on a bad day (errors,
 * slow starts, stalls, hang-ups). One "token" is one word of the reply.
 */
import http from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";

export interface FakeBehavior {
  /** The answer; default "You said: " + the last user message. */
  reply?: string;
  /** ms between two SSE chunks. */
  chunkDelayMs: number;
  /** ms before the response headers. */
  firstByteDelayMs: number;
  /** Answer every request with this status, headers and JSON body instead. */
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Destroy the socket once this many chunks are out (at the time the next one was due). */
  hangUpAfterChunks?: number;
  /** Send this many chunks (0: headers only), then nothing, the socket left open. */
  stallAfterChunks?: number;
  /** false: no usage chunk, even when stream_options.include_usage asks for one. */
  usage: boolean;
  /** Send these `data:` payloads as they are instead of the answer, then end the response. */
  events?: string[];
  /** Ids for GET /v1/models. */
  models: string[];
}

export interface FakeRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON; undefined for a GET. */
  body: unknown;
  /** performance.now() in this process (ms) at which each SSE chunk was written. */
  chunkTimes: number[];
}

export interface FakeUpstream {
  /** Ends in /v1, as an OpenAI base URL does. */
  url: string;
  requests: FakeRequest[];
  /** Replaces the behaviour: anything not given returns to its default. */
  setBehavior(behavior: Partial<FakeBehavior>): void;
  /** How many responses the client abandoned before the server finished them. */
  closedEarly(): number;
  close(): Promise<void>;
}

interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

const DEFAULTS: FakeBehavior = { chunkDelayMs: 0, firstByteDelayMs: 0, usage: true, models: ["fake-model"] };

/** Unix seconds reported as every object's creation time. */
const CREATED = 1_700_000_000;

export async function startFakeUpstream(initial: Partial<FakeBehavior> = {}): Promise<FakeUpstream> {
  let behavior: FakeBehavior = { ...DEFAULTS, ...initial };
  const requests: FakeRequest[] = [];
  let abandoned = 0;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const record: FakeRequest = { path: req.url ?? "", headers: req.headers, body, chunkTimes: [] };
    requests.push(record);
    const b = behavior;
    let gone = false;
    let hungUp = false;
    res.on("close", () => {
      gone = true;
      if (!res.writableFinished && !hungUp) abandoned += 1;
    });

    if (b.firstByteDelayMs) await sleep(b.firstByteDelayMs);
    if (gone) return;
    if (b.status) {
      res.writeHead(b.status, { "content-type": "application/json", ...b.headers });
      res.end(JSON.stringify(b.body ?? { error: { message: `fake upstream answered ${b.status}`, type: "fake_error" } }));
      return;
    }
    if (req.method === "GET" && record.path === "/v1/models") {
      sendJson(res, { object: "list", data: b.models.map((id) => ({ id, object: "model", created: CREATED, owned_by: "fake" })) });
      return;
    }
    if (req.method !== "POST" || record.path !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${record.path}`, type: "invalid_request_error" } }));
      return;
    }

    const chat = body as ChatBody;
    const answer = composeAnswer(b, chat, requests.length);
    if (!chat.stream) {
      sendJson(res, answer.whole);
      return;
    }
    const events = b.events ?? answer.events(b.usage && chat.stream_options?.include_usage === true);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    for (const [i, data] of events.entries()) {
      if (i === b.stallAfterChunks) return;
      if (i > 0 && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      if (gone) return;
      if (i === b.hangUpAfterChunks) {
        hungUp = true;
        res.socket?.destroy();
        return;
      }
      res.write(`data: ${data}\n\n`);
      record.chunkTimes.push(performance.now());
    }
    res.end();
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    setBehavior(next) {
      behavior = { ...DEFAULTS, ...next };
    },
    closedEarly: () => abandoned,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

/** The reply cut to max_tokens words, as a whole chat.completion and as the SSE payloads of a stream. */
function composeAnswer(b: FakeBehavior, body: ChatBody, n: number) {
  const lastUser = body.messages.findLast((m) => m.role === "user")?.content ?? "";
  const words = (b.reply ?? `You said: ${lastUser}`).split(/(?<= )/);
  const pieces = words.slice(0, body.max_tokens ?? words.length);
  const finishReason = pieces.length < words.length ? "length" : "stop";
  const promptTokens = Math.ceil(body.messages.reduce((sum, m) => sum + m.content.length, 0) / 4);
  const usage = { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length };
  const head = { id: `chatcmpl-fake-${n}`, created: CREATED, model: body.model };
  const chunk = (delta: object, finish: string | null) =>
    JSON.stringify({ ...head, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
  return {
    whole: {
      ...head,
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: pieces.join("") }, finish_reason: finishReason }],
      ...(b.usage ? { usage } : {}),
    },
    events: (withUsage: boolean) => [
      ...pieces.map((content, i) => chunk(i === 0 ? { role: "assistant", content } : { content }, null)),
      chunk({}, finishReason),
      ...(withUsage ? [JSON.stringify({ ...head, object: "chat.completion.chunk", choices: [], usage })] : []),
      "[DONE]",
    ],
  };
}

/**
 * A TCP port whose connects hang, on loopback: its listener's thread is
 * blocked so it never accepts, and once filler connections fill its accept
 * queue the kernel drops further SYNs, so a client sees a real connect timeout.
 */
export async function startBlackhole(): Promise<{ url: string; close(): Promise<void> }> {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
    const server = require("node:net").createServer();
    server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`,
    { eval: true },
  );
  const port = await new Promise<number>((resolve) => worker.once("message", resolve));
  const fillers: net.Socket[] = [];
  // A connect that a queue with room would complete at once, ms.
  const queuedWithinMs = 250;
  for (let queued = true; queued; ) {
    if (fillers.length === 16) throw new Error("the blackhole's accept queue did not fill");
    const socket = net.connect(port, "127.0.0.1").on("error", () => {});
    fillers.push(socket);
    queued = await new Promise<boolean>((resolve) => {
      socket.once("connect", () => resolve(true));
      setTimeout(() => resolve(false), queuedWithinMs);
    });
  }
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      for (const socket of fillers) socket.destroy();
      await worker.terminate();
    },
  };
}
