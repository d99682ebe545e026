import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUFFERED_BODY_BYTES, LEAN_PATH_HEADER, loadLeanPath } from "@/lib/lean-path.mjs";
import { loadApp, type LoadedApp } from "../support/app";
import { startBridge, type Bridge } from "../support/http-bridge";

/**
 * The lean path (lib/lean-path.mjs): the gateway's routes are dispatched by
 * server.mjs straight to their handlers, with what Next.js would have added
 * (the config's headers) and nothing lost on the way (the socket's address,
 * the body limit, streaming, a client that leaves); every other route still
 * goes to Next.js. Over the tests' bridge, which is server.mjs in small, and
 * against a build folder made up for the manifests' rules.
 */

let app: LoadedApp;
let bridge: Bridge;
beforeAll(async () => {
  app = await loadApp({ SIMULATED_LATENCY_MS: "150" });
  bridge = await startBridge(app);
});
afterAll(async () => {
  await bridge.close();
  await app.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${bridge.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

/** Raw bytes on a socket; resolves with what came back once the server closes it, or after `leaveWhen` matched. */
function raw(request: string, leaveWhen?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(bridge.url).port), "127.0.0.1", () => socket.write(request));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (leaveWhen && data.includes(leaveWhen)) {
        socket.destroy();
        resolve(data);
      }
    });
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

describe("the lean path", () => {
  it("serves the gateway's routes itself, with next.config.ts's headers", async () => {
    const answers = await Promise.all([
      fetch(`${bridge.url}/v1/models`),
      fetch(`${bridge.url}/api/health`),
      post("/api/generate", { prompt: "lean door one" }),
      post("/v1/chat/completions", { model: "flowgate-sim-1", messages: [{ role: "user", content: "lean door two" }] }),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.headers.get(LEAN_PATH_HEADER)).toBe("lean");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      await res.arrayBuffer();
    }
    expect(bridge.lean).toEqual(expect.arrayContaining(["GET /v1/models", "GET /api/health", "POST /api/generate", "POST /v1/chat/completions"]));
  });

  it("leaves every other route and method to Next.js", async () => {
    const before = bridge.lean.length;
    const others = await Promise.all([
      fetch(`${bridge.url}/api/stats`),
      fetch(`${bridge.url}/v1/chat/completions`),
      fetch(`${bridge.url}/v1/models/`),
      post("/v1/embeddings", { model: "x", input: "hi" }),
    ]);
    expect(others.map((r) => r.status)).toEqual([200, 405, 404, 404]);
    for (const res of others) {
      expect(res.headers.get(LEAN_PATH_HEADER)).toBeNull();
      await res.arrayBuffer();
    }
    expect(bridge.lean.length).toBe(before);
  });

  it("takes the caller's address from the socket, whatever x-flowgate-peer the client sent", async () => {
    const res = await post("/api/generate", { prompt: "who am i" }, { "x-flowgate-peer": "203.0.113.9" });
    expect(res.headers.get("x-flowgate-identity")).toBe("ip:127.0.0.1");
  });

  it("refuses a body over the limit from its declared length, in JSON, before reading it", async () => {
    const answer = await raw(
      "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 999999999\r\n\r\n{}",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain(`${LEAN_PATH_HEADER}: lean`);
    expect(answer).toContain('"code":"payload_too_large"');
  });

  it("reads a short body whole before the handler runs: the same answers, a short body over the limit refused, a client gone mid-body costs nothing", async () => {
    const before = bridge.lean.length;
    // Short bodies (Content-Length ≤ BUFFERED_BODY_BYTES) take the buffered route; one sent in two writes arrives whole.
    const body = JSON.stringify({ prompt: "lean short body" });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(bridge.url).port), "127.0.0.1", () => {
        socket.write(`POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
        setTimeout(() => socket.write(body.slice(5)), 50);
      });
      let data = "";
      socket.on("data", (chunk) => (data += chunk.toString()));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('"cached":false');

    const overLimit = { prompt: "x".repeat(BUFFERED_BODY_BYTES - 100) };
    expect(JSON.stringify(overLimit).length).toBeLessThanOrEqual(BUFFERED_BODY_BYTES);
    const refused = await post("/api/generate", overLimit);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ code: "payload_too_large" });

    // Half a short body, then gone: the handler never runs, and the next request is served.
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(new URL(bridge.url).port), "127.0.0.1", () => {
        socket.write(`POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"prompt":`);
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await post("/api/generate", { prompt: "lean after a client left" });
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    expect(bridge.lean.slice(before)).toEqual(["POST /api/generate", "POST /api/generate", "POST /api/generate"]);
  });

  it("streams a chat answer as it is produced, and a client that leaves mid-stream stops it: it is never cached", async () => {
    const prompt = `lean walk-away ${Date.now()}`;
    const body = JSON.stringify({ model: "flowgate-sim-1", stream: true, messages: [{ role: "user", content: prompt }] });
    const seen = await raw(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer demo-pro-key\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      '"content"',
    );
    expect(seen).toContain("text/event-stream");
    expect(seen).not.toContain("[DONE]");
    // The same request again is a miss: the cut-off answer was not stored.
    let cache: string | null = null;
    for (let i = 0; i < 40 && cache !== "MISS"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const res = await post("/v1/chat/completions", { model: "flowgate-sim-1", messages: [{ role: "user", content: prompt }] }, { authorization: "Bearer demo-pro-key" });
      cache = res.headers.get("x-cache");
      await res.arrayBuffer();
      if (cache === "MISS") break;
    }
    expect(cache).toBe("MISS");
  });
});

describe("loading the lean path from a build", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "flowgate-lean-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A build folder with the manifests Next.js writes and route modules that answer their path. */
  function makeBuild(name: string, options: { proxySource?: string; headers?: object[] } = {}): string {
    const build = path.join(dir, name);
    const server = path.join(build, "server");
    mkdirSync(server, { recursive: true });
    writeFileSync(path.join(build, "BUILD_ID"), "test");
    writeFileSync(path.join(build, "required-server-files.json"), JSON.stringify({ config: { compress: false } }));
    writeFileSync(
      path.join(build, "routes-manifest.json"),
      JSON.stringify({ basePath: "", caseSensitive: false, redirects: [], rewrites: { beforeFiles: [], afterFiles: [], fallback: [] }, headers: options.headers ?? [] }),
    );
    const pages: Record<string, string> = {};
    for (const page of ["v1/chat/completions", "v1/models", "api/generate", "api/health", "api/bench/floor"]) {
      const file = `app/${page}/route.js`;
      pages[`/${page}/route`] = file;
      mkdirSync(path.join(server, "app", page), { recursive: true });
      writeFileSync(
        path.join(server, file),
        `const answer = () => new Response(${JSON.stringify(`/${page}`)});\nmodule.exports = { routeModule: { userland: { GET: answer, POST: answer } } };\n`,
      );
    }
    writeFileSync(path.join(server, "app-paths-manifest.json"), JSON.stringify(pages));
    const matchers = options.proxySource ? [{ regexp: options.proxySource, originalSource: options.proxySource }] : [];
    writeFileSync(path.join(server, "functions-config-manifest.json"), JSON.stringify({ version: 1, functions: matchers.length ? { "/_middleware": { runtime: "nodejs", matchers } } : {} }));
    return name;
  }

  const onError = () => {};

  it("serves what the build allows, with the header rules that match", () => {
    const distDir = makeBuild("plain", {
      headers: [{ source: "/:path*", regex: "^(?:/((?:[^/]+?)(?:/(?:[^/]+?))*))?(?:/)?$", headers: [{ key: "X-Frame-Options", value: "DENY" }] }],
    });
    const lean = loadLeanPath({ dir, distDir, onError });
    expect(lean.serve).toBeTypeOf("function");
    expect(lean.routes).toEqual(["POST /v1/chat/completions", "GET /v1/models", "POST /api/generate", "GET /api/health", "POST /api/bench/floor"]);
  });

  it("leaves to Next.js a route the proxy's matcher covers, or a conditional header rule could touch", () => {
    const distDir = makeBuild("proxied", {
      proxySource: "^(?:\\/(v1\\/.*))$",
      headers: [{ source: "/api/generate", regex: "^/api/generate$", has: [{ type: "header", key: "x-a" }], headers: [{ key: "X-A", value: "1" }] }],
    });
    const lean = loadLeanPath({ dir, distDir, onError });
    expect(lean.routes).toEqual(["GET /api/health", "POST /api/bench/floor"]);
    expect(lean.skipped).toEqual([
      "/v1/chat/completions (the proxy runs there)",
      "/v1/models (the proxy runs there)",
      "/api/generate (a conditional header rule matches)",
    ]);
  });

  it("is off, with the reason, without a production build", () => {
    const lean = loadLeanPath({ dir, distDir: "no-such-build", onError });
    expect(lean.serve).toBeNull();
    expect(lean.reason).toBe("no production build in no-such-build");
  });
});
