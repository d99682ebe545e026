import net from "node:net";
import { expect, test } from "@playwright/test";

/**
 * What curl and browsers cannot send: raw bytes on a socket. Oversized
 * headers, control characters, duplicate X-Forwarded-For and a lying
 * Content-Length all get a JSON answer from a known status, and the server
 * stays up.
 */

// The same port playwright.config.ts serves on.
const port = Number(process.env.E2E_PORT ?? 3100);

function raw(request: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let data = "";
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error("no answer within 5 s"));
    });
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const split = data.indexOf("\r\n\r\n");
      const head = data.slice(0, split);
      let body = data.slice(split + 4);
      if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunk(body);
      resolve({ status, body });
    });
    socket.on("error", reject);
    socket.write(request);
  });
}

function dechunk(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

const post = (headers: string, body = '{"prompt":"raw"}') =>
  `POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test("oversized headers get a JSON 431", async () => {
  const res = await raw(post(`X-Junk: ${"a".repeat(40_000)}\r\n`));
  expect(res.status).toBe(431);
  expect(JSON.parse(res.body)).toMatchObject({ code: "headers_too_large" });
});

test("control characters in a header get a JSON 400", async () => {
  const res = await raw(post("X-Api-Key: demo\u0001key\r\n"));
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body)).toMatchObject({ code: "bad_request" });
});

test("duplicate X-Forwarded-For headers do not pick the identity", async ({ request }) => {
  const res = await raw(post("X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n"));
  expect([200, 429]).toContain(res.status);
  const body = JSON.parse(res.body) as { identity: string };
  expect(body.identity).toBe("ip:127.0.0.1");
  // And the server is still there.
  expect((await request.get("/api/stats")).status()).toBe(200);
});

test("a body longer than its Content-Length, or a huge declared length, is refused cleanly", async ({ request }) => {
  const lying = await raw(
    `POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 999999999\r\n\r\n{"prompt":"x"}`,
  );
  expect(lying.status).toBe(413);
  expect(JSON.parse(lying.body)).toMatchObject({ code: "payload_too_large" });
  expect((await request.get("/api/stats")).status()).toBe(200);
});

test("unknown paths under /api and /v1 answer JSON 404s, in each door's shape, not Next's HTML page", async ({ request }) => {
  const api = await request.get("/api/no-such-route");
  expect(api.status()).toBe(404);
  expect(api.headers()["content-type"]).toContain("application/json");
  expect(await api.json()).toMatchObject({ code: "not_found" });
  const v1 = await request.post("/v1/embeddings", { data: { model: "x", input: "hi" } });
  expect(v1.status()).toBe(404);
  expect(v1.headers()["content-type"]).toContain("application/json");
  expect(await v1.json()).toMatchObject({ error: { type: "invalid_request_error", code: "unknown_url" } });
});

test("a client that disconnects mid-stream stops the generation: it is settled as aborted and not cached", async ({ request }) => {
  const prompt = `walk away mid-stream ${Date.now()}`;
  await new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ model: "flowgate-sim-1", stream: true, messages: [{ role: "user", content: prompt }] });
    const socket = net.connect({ port, host: "127.0.0.1" }, () => {
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer demo-pro-key\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    socket.on("data", (chunk) => {
      // The first content chunk is here: leave.
      if (chunk.toString().includes('"content"')) {
        socket.destroy();
        resolve();
      }
    });
    socket.on("error", reject);
  });
  // The same request again is a miss: the cut-off answer was never stored.
  await expect
    .poll(async () => {
      const res = await request.post("/v1/chat/completions", {
        headers: { authorization: "Bearer demo-pro-key" },
        data: { model: "flowgate-sim-1", messages: [{ role: "user", content: prompt }] },
      });
      return res.headers()["x-cache"];
    })
    .toBe("MISS");
});

test("the gateway's routes take the lean path in server.mjs, with the same security headers; the rest goes through Next.js", async ({ request }) => {
  const lean = [await request.get("/v1/models"), await request.get("/api/health"), await request.post("/api/generate", { data: { prompt: "lean or not" } })];
  for (const res of lean) {
    expect(res.headers()["x-flowgate-path"]).toBe("lean");
    expect(res.headers()["x-frame-options"]).toBe("DENY");
    expect(res.headers()["permissions-policy"]).toContain("camera=()");
  }
  // Next.js's router marks its app-router answers with this Vary; the lean path never does.
  const throughNext = [await request.get("/api/stats"), await request.get("/v1/chat/completions"), await request.get("/")];
  for (const res of throughNext) {
    expect(res.headers()["x-flowgate-path"]).toBeUndefined();
    expect(res.headers()["vary"]).toContain("rsc");
    expect(res.headers()["x-frame-options"]).toBe("DENY");
  }
  expect(throughNext[1]?.status()).toBe(405);
});

test("the bench's floor page does not exist unless BENCH_ROUTES is on", async ({ request }) => {
  // The e2e server runs the production build without BENCH_ROUTES, as a deployment does.
  const res = await request.get("/bench/floor");
  expect(res.status()).toBe(404);
  expect(await res.text()).not.toContain("Flowgate bench floor");
});
