/**
 * A real HTTP server in front of the route handlers a test loaded, so real
 * clients (the official openai SDK, raw sockets) talk HTTP to them. It is
 * server.mjs in small: the socket address stamped as x-flowgate-peer, then
 * the lean path (lib/lean-path.mjs, the same dispatcher and the same
 * Request/Response adapters production uses) for the gateway's routes, and
 * for everything else a stand-in for Next.js that calls the route module's
 * handler for the method.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createLeanPath, LEAN_ROUTES, sendWebResponse, toWebRequest, type LeanRoute } from "@/lib/lean-path.mjs";
import type { LoadedApp } from "./app";

type Handler = (request: Request) => Response | Promise<Response>;

export interface Bridge {
  /** http://127.0.0.1:port */
  url: string;
  /** Every request that reached a handler, in order: "METHOD /path". */
  seen: string[];
  /** The requests the lean path served, in order: "METHOD /path". */
  lean: string[];
  close(): Promise<void>;
}

/** The security headers next.config.ts sets on every path, as the build's routes-manifest.json carries them. */
export const CONFIG_HEADERS: [string, string][] = [
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["X-Frame-Options", "DENY"],
  ["Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"],
];

function routeModule(app: LoadedApp, path: string): Promise<Record<string, unknown>> | Record<string, unknown> {
  if (path === "/v1/chat/completions") return app.chat;
  if (path === "/v1/models") return app.models;
  if (path === "/api/generate") return app.generate;
  if (path === "/api/health") return app.health;
  if (path === "/api/stats") return app.stats;
  if (path === "/api/bench/floor") return import("@/app/api/bench/floor/route");
  if (path.startsWith("/v1/")) return import("@/app/v1/[...path]/route");
  return import("@/app/api/[...path]/route");
}

export async function startBridge(app: LoadedApp): Promise<Bridge> {
  const seen: string[] = [];
  const lean: string[] = [];
  const routes: LeanRoute[] = [];
  for (const { method, path } of LEAN_ROUTES) {
    const handler = (await routeModule(app, path))[method] as Handler;
    routes.push({
      method,
      path,
      headers: CONFIG_HEADERS,
      handler: (request) => {
        lean.push(`${method} ${path}`);
        return handler(request);
      },
    });
  }
  const onError = (error: unknown, res: import("node:http").ServerResponse) => {
    console.error("[bridge]", error);
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  };
  const serveLean = createLeanPath({ routes, onError });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    seen.push(`${req.method} ${path}`);
    req.headers["x-flowgate-peer"] = req.socket.remoteAddress ?? "";
    if (serveLean(req, res)) return;
    // What Next.js would serve: the route module's handler for the method, with the config's headers.
    for (const [name, value] of CONFIG_HEADERS) res.setHeader(name, value);
    void (async () => {
      const handler = (await routeModule(app, path))[req.method ?? "GET"] as Handler;
      await sendWebResponse(res, await handler(toWebRequest(req, res)));
    })().catch((error: unknown) => onError(error, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    lean,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
