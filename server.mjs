// Flowgate's HTTP server: Next.js behind a plain node:http server.
//
// Why not `next start`: a route handler cannot see the TCP peer address, and
// Next only fills X-Forwarded-For from the socket when the client sent none,
// so a client could pick its own rate-limit identity. Here every request gets
// `x-flowgate-peer` from the socket, overwriting anything the client sent;
// lib/gateway/identity.ts believes X-Forwarded-For only with TRUST_PROXY.
//
// The gateway's own routes (POST /v1/chat/completions, GET /v1/models, POST
// /api/generate, GET /api/health; the bench's floor) take the lean path in production: their
// route handlers are called straight from here, past Next.js's router (see
// lib/lean-path.mjs). FLOWGATE_LEAN_PATH=0 sends everything through Next.js.
import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { loadLeanPath } from "./lib/lean-path.mjs";

const port = Number.parseInt(process.env.PORT ?? "3000", 10);
// HOST, not HOSTNAME: shells and containers set HOSTNAME to the machine name.
const host = process.env.HOST ?? "0.0.0.0";
const dev = process.argv.includes("--dev");

// The app's folder, not the working directory: the server starts from anywhere.
const dir = path.dirname(fileURLToPath(import.meta.url));
const app = next({ dev, dir, hostname: host === "0.0.0.0" ? "localhost" : host, port });
const handle = app.getRequestHandler();

function answerInternalError(error, res) {
  console.error("[flowgate] request failed", error);
  if (!res.headersSent) {
    res.statusCode = 500;
    res.setHeader("Content-Type", "application/json");
  }
  res.end(JSON.stringify({ error: "Internal error", code: "internal" }));
}

// After prepare: instrumentation.ts has run its start-up checks, and the lean
// path loads the same route modules Next.js serves.
await app.prepare();

const leanOff = ["0", "false", "off", "no"].includes((process.env.FLOWGATE_LEAN_PATH ?? "").trim().toLowerCase());
let serveLean = null;
if (!dev && !leanOff) {
  // The build folder, as next.config.ts names it.
  const lean = loadLeanPath({ dir, distDir: process.env.FLOWGATE_DIST_DIR || ".next", onError: answerInternalError });
  serveLean = lean.serve;
  for (const skipped of lean.skipped ?? []) console.warn(`[flowgate] lean path: left to Next.js: ${skipped}`);
  if (!serveLean) console.warn(`[flowgate] lean path off: ${lean.reason}`);
}

const server = createServer((req, res) => {
  req.headers["x-flowgate-peer"] = req.socket.remoteAddress ?? "";
  if (serveLean?.(req, res)) return;
  handle(req, res).catch((error) => answerInternalError(error, res));
});

// Requests Node's HTTP parser refuses (oversized headers, control characters,
// broken framing) never reach Next.js: answer them in JSON like everything else.
server.on("clientError", (error, socket) => {
  if (!socket.writable || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const status = tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request";
  const body = JSON.stringify(
    tooLarge
      ? { error: "Request headers are too large", code: "headers_too_large" }
      : { error: "Malformed HTTP request", code: "bad_request" },
  );
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
});

server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  const shown = host === "0.0.0.0" ? "localhost" : host;
  console.log(`[flowgate] ready on http://${shown}:${port} (${dev ? "development" : "production"}${serveLean ? ", lean path on" : ""})`);
});

const shutdown = () => server.close(() => process.exit(0));
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
