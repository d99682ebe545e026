/**
 * A real HTTP server in front of the route handlers a test loaded, so real
 * clients (the official openai SDK, raw sockets) talk HTTP to them. It does
 * what server.mjs and Next.js do on the way in and out: stamps the socket
 * address as x-flowgate-peer, turns the request into a Web Request whose
 * signal aborts when the client goes away, and streams the Response body
 * out chunk by chunk as it is produced.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { LoadedApp } from "./app";

type Handler = (request: Request) => Response | Promise<Response>;

export interface Bridge {
  /** http://127.0.0.1:port */
  url: string;
  /** Every request that reached a handler, in order: "METHOD /path". */
  seen: string[];
  close(): Promise<void>;
}

async function route(app: LoadedApp, method: string, path: string): Promise<Handler> {
  const pick = (module: Record<string, unknown>) => (module[method] as Handler | undefined) ?? null;
  if (path === "/v1/chat/completions") return pick(app.chat)!;
  if (path === "/v1/models") return pick(app.models)!;
  if (path === "/api/generate") return pick(app.generate)!;
  if (path.startsWith("/v1/")) return pick(await import("@/app/v1/[...path]/route"))!;
  return pick(await import("@/app/api/[...path]/route"))!;
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  headers.set("x-flowgate-peer", req.socket.remoteAddress ?? "");
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    signal,
    // @ts-expect-error Node's fetch needs duplex for a streamed body; lib.dom's RequestInit lacks it.
    duplex: "half",
  });
}

async function send(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  if (!response.body) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  res.on("close", () => {
    if (!res.writableFinished) void reader.cancel().catch(() => undefined);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise((resolve) => res.once("drain", resolve));
    }
  } catch {
    // The client went away mid-stream; the handler's stream was cancelled above.
  }
  res.end();
}

export async function startBridge(app: LoadedApp): Promise<Bridge> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    seen.push(`${req.method} ${path}`);
    const gone = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) gone.abort();
    });
    void (async () => {
      const handler = await route(app, req.method ?? "GET", path);
      await send(await handler(toRequest(req, gone.signal)), res);
    })().catch((error) => {
      console.error("[bridge]", error);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
