// Flowgate's HTTP server: Next.js behind a plain node:http server.
//
// Why not `next start`: a route handler cannot see the TCP peer address, and
// Next only fills X-Forwarded-For from the socket when the client sent none,
// so a client could pick its own rate-limit identity. Here every request gets
// `x-flowgate-peer` from the socket, overwriting anything the client sent;
// lib/gateway/identity.ts believes X-Forwarded-For only with TRUST_PROXY.
import { createServer } from "node:http";
import next from "next";

const port = Number.parseInt(process.env.PORT ?? "3000", 10);
// HOST, not HOSTNAME: shells and containers set HOSTNAME to the machine name.
const host = process.env.HOST ?? "0.0.0.0";
const dev = process.argv.includes("--dev");

const app = next({ dev, hostname: host === "0.0.0.0" ? "localhost" : host, port });
const handle = app.getRequestHandler();

await app.prepare();

const server = createServer((req, res) => {
  req.headers["x-flowgate-peer"] = req.socket.remoteAddress ?? "";
  handle(req, res).catch((error) => {
    console.error("[flowgate] request failed", error);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.setHeader("Content-Type", "application/json");
    }
    res.end(JSON.stringify({ error: "Internal error", code: "internal" }));
  });
});

server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  const shown = host === "0.0.0.0" ? "localhost" : host;
  console.log(`[flowgate] ready on http://${shown}:${port} (${dev ? "development" : "production"})`);
});

const shutdown = () => server.close(() => process.exit(0));
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
