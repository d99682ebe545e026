// The lean path: server.mjs hands the gateway's own routes straight to their
// route handlers, past Next.js's router, whose per-request work (route
// matching, its request and response adapters, the render pipeline's
// bookkeeping) costs as much as everything the gateway itself does. The
// handlers are the very functions Next.js serves (the `userland` exports of
// the route modules in the production build, one module instance shared with
// Next.js), so there is one code path for the logic; only the dispatch differs.
//
// What Next.js would have done around those handlers is taken from the build
// itself, never restated here, so a change to next.config.ts or proxy.ts
// reaches both paths:
// - the `headers()` of next.config.ts, from routes-manifest.json;
// - response compression, with Next.js's own compression middleware, when
//   the config's `compress` is on (the default);
// - the proxy (proxy.ts): a route its matcher covers is left to Next.js, as
//   is one a redirect, a rewrite or a conditional header rule could touch.
// Anything else (other paths, other methods, dev mode) goes to Next.js.
//
// Plain JavaScript because server.mjs loads it before anything is compiled;
// lean-path.d.mts gives it types for the tests.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** Every response the lean path sends carries this, so a test (or an operator) can tell which path served it. */
export const LEAN_PATH_HEADER = "x-flowgate-path";

/** The routes served on the lean path: one method each; their other methods (405s) stay with Next.js. */
export const LEAN_ROUTES = [
  { method: "POST", path: "/v1/chat/completions", page: "/v1/chat/completions/route" },
  { method: "GET", path: "/v1/models", page: "/v1/models/route" },
  { method: "POST", path: "/api/generate", page: "/api/generate/route" },
  { method: "GET", path: "/api/health", page: "/api/health/route" },
  // The bench's floor (a 404 unless BENCH_ROUTES=1): its share of /api/generate stays like for like.
  { method: "POST", path: "/api/bench/floor", page: "/api/bench/floor/route" },
];

// Next.js drops these from a route handler's Response (send-response.js): the
// body may have been decoded, and Node frames the response itself.
const FORBIDDEN_HEADERS = new Set(["content-length", "content-encoding", "transfer-encoding"]);
// Headers Next.js lets a Response add beside a value already set (send-response.js).
const MULTI_VALUE_HEADERS = new Set(["set-cookie", "www-authenticate", "proxy-authenticate", "vary"]);

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));

/** A simple Host header for the request URL, else a placeholder (Next.js uses one too). */
function originOf(host) {
  return typeof host === "string" && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? `http://${host}` : "http://localhost";
}

/**
 * A body at most this long, by its Content-Length, is read whole before the
 * Request is built: a Request over a Node stream costs more CPU (undici wraps
 * it in a web stream) than the rest of building it. Longer or chunked bodies
 * stream, so a handler's own size limit still stops one early.
 */
export const BUFFERED_BODY_BYTES = 64 * 1024;

/** The body as one Buffer when it is short and declares its length; else undefined (the Request streams it). */
export function readShortBody(req) {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const declared = req.headers["content-length"];
  if (declared === undefined || !/^\d{1,9}$/.test(declared) || Number(declared) > BUFFERED_BODY_BYTES) return undefined;
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once("error", reject);
    // `close` before `end`: the client left mid-body (after `end`, the promise is settled and this does nothing).
    req.once("close", () => reject(new Error("the client left before its request body ended")));
  });
}

/**
 * IncomingMessage → Web Request, as Next.js's NextRequestAdapter builds it:
 * the body streams (unless `body`, read already by readShortBody, is given),
 * the signal follows the response.
 */
export function toWebRequest(req, res, body) {
  const controller = new AbortController();
  // `finish` first: we ended the response. `close` first: the client left.
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(new URL(req.url ?? "/", originOf(req.headers.host)), {
    method: req.method,
    headers,
    signal: controller.signal,
    ...(!hasBody ? {} : body !== undefined ? { body } : { body: req, duplex: "half" }),
  });
}

/** Web Response → ServerResponse, as Next.js's sendResponse writes it, with backpressure, ending early if the client leaves. */
export async function sendWebResponse(res, response) {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  response.headers.forEach((value, name) => {
    if (FORBIDDEN_HEADERS.has(name)) return;
    if (name === "set-cookie") {
      for (const cookie of response.headers.getSetCookie()) res.appendHeader(name, cookie);
    } else if (MULTI_VALUE_HEADERS.has(name) || res.getHeader(name) === undefined) {
      res.appendHeader(name, value);
    }
  });
  if (!response.body) {
    res.end();
    return;
  }
  // A whole JSON answer goes out in one write; anything else (SSE) chunk by chunk as it comes.
  if (/^application\/json\b/i.test(response.headers.get("content-type") ?? "")) {
    res.end(Buffer.from(await response.arrayBuffer()));
    return;
  }
  const reader = response.body.getReader();
  let drained = null;
  const onDrain = () => drained?.();
  res.on("drain", onDrain);
  const gone = new Promise((resolve) => res.once("close", resolve));
  gone.then(() => {
    res.off("drain", onDrain);
    drained?.();
    // The client left before the end: cancelling the body cancels the generation behind it.
    if (!res.writableFinished) reader.cancel().catch(() => {});
  });
  let started = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!started) {
        started = true;
        res.flushHeaders();
      }
      if (!res.write(value)) {
        await new Promise((resolve) => (drained = resolve));
        drained = null;
        if (res.destroyed) return;
      }
    }
    res.end();
  } catch (error) {
    if (res.destroyed) return;
    // Headers are out: all that is left is to cut the response short.
    if (res.headersSent) res.destroy(error);
    else throw error;
  }
}

/**
 * A request listener for the lean routes: returns false, having done nothing,
 * for any request it does not serve. `routes` are { method, path, handler,
 * headers } with headers the [name, value] pairs Next.js's config sets on
 * that path; `compress` is a compression middleware or null; `onError`
 * answers a handler that threw.
 */
export function createLeanPath({ routes, compress = null, onError }) {
  const byKey = new Map(routes.map((route) => [`${route.method} ${route.path}`, route]));
  return function serveLean(req, res) {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const route = byKey.get(`${req.method} ${query < 0 ? url : url.slice(0, query)}`);
    if (!route) return false;
    if (compress) {
      compress(req, res, () => {});
      // A client that leaves mid-answer would leave the middleware's zlib stream open (Next.js's releaseCompressionStream).
      res.once("close", () => {
        if (!res.writableFinished) releaseCompressionStream(res);
      });
    }
    for (const [name, value] of route.headers) res.setHeader(name, value);
    res.setHeader(LEAN_PATH_HEADER, "lean");
    Promise.resolve(readShortBody(req))
      .then((body) => route.handler(toWebRequest(req, res, body)))
      .then((response) => sendWebResponse(res, response))
      .catch((error) => onError(error, res));
    return true;
  };
}

function releaseCompressionStream(res) {
  const noop = () => {};
  const stream = res.on("drain", noop);
  res.off("drain", noop);
  if (stream !== res && typeof stream?.destroy === "function") stream.destroy();
}

/** A path-matching regex from a manifest, as Next.js compiles it. */
const regexOf = (source, caseSensitive) => new RegExp(source, caseSensitive ? "" : "i");

/**
 * The lean routes a production build allows, with their handlers loaded from
 * it, or the reason there are none. `dir` is the app's folder, `distDir` its
 * build folder (relative to dir).
 */
export function loadLeanPath({ dir, distDir, onError }) {
  const build = path.join(dir, distDir);
  const serverDir = path.join(build, "server");
  if (!existsSync(path.join(build, "BUILD_ID"))) return { serve: null, reason: `no production build in ${distDir}` };
  const routesManifest = readJson(path.join(build, "routes-manifest.json"));
  const { config } = readJson(path.join(build, "required-server-files.json"));
  if (routesManifest.basePath || config.basePath || config.i18n) return { serve: null, reason: "basePath or i18n is configured" };
  const caseSensitive = routesManifest.caseSensitive === true;
  const appPaths = readJson(path.join(serverDir, "app-paths-manifest.json"));

  // The proxy's matchers: Node.js proxies are listed in functions-config-manifest.json, Edge ones in middleware-manifest.json.
  const proxyMatchers = [];
  const functionsConfig = path.join(serverDir, "functions-config-manifest.json");
  if (existsSync(functionsConfig)) proxyMatchers.push(...(readJson(functionsConfig).functions?.["/_middleware"]?.matchers ?? []));
  const middlewareManifest = path.join(serverDir, "middleware-manifest.json");
  if (existsSync(middlewareManifest)) {
    for (const entry of Object.values(readJson(middlewareManifest).middleware ?? {})) proxyMatchers.push(...(entry.matchers ?? []));
  }
  const rewrites = routesManifest.rewrites ?? {};
  const redirectsAndRewrites = [
    ...(routesManifest.redirects ?? []),
    ...(Array.isArray(rewrites) ? rewrites : [...(rewrites.beforeFiles ?? []), ...(rewrites.afterFiles ?? []), ...(rewrites.fallback ?? [])]),
  ];

  const require = createRequire(path.join(dir, "package.json"));
  const routes = [];
  const skipped = [];
  for (const { method, path: routePath, page } of LEAN_ROUTES) {
    const matches = (rule) => regexOf(rule.regexp ?? rule.regex, caseSensitive).test(routePath);
    if (proxyMatchers.some(matches)) {
      skipped.push(`${routePath} (the proxy runs there)`);
      continue;
    }
    if (redirectsAndRewrites.some(matches)) {
      skipped.push(`${routePath} (a redirect or rewrite matches)`);
      continue;
    }
    const headerRules = (routesManifest.headers ?? []).filter(matches);
    // Conditions and parameters in a header rule depend on the request: Next.js evaluates those.
    if (headerRules.some((rule) => rule.has || rule.missing || rule.headers.some((h) => /:[A-Za-z_]/.test(h.key + h.value)))) {
      skipped.push(`${routePath} (a conditional header rule matches)`);
      continue;
    }
    const file = appPaths[page];
    const handler = file ? require(path.join(serverDir, file)).routeModule?.userland?.[method] : undefined;
    if (typeof handler !== "function") {
      skipped.push(`${routePath} (no ${method} handler in the build)`);
      continue;
    }
    routes.push({ method, path: routePath, handler, headers: headerRules.flatMap((rule) => rule.headers.map((h) => [h.key, h.value])) });
  }
  let compress = null;
  if (config.compress !== false) {
    try {
      compress = require("next/dist/compiled/compression")();
    } catch {
      return { serve: null, reason: "Next.js's compression middleware could not be loaded", skipped };
    }
  }
  if (routes.length === 0) return { serve: null, reason: "no route qualifies", skipped };
  return { serve: createLeanPath({ routes, compress, onError }), routes: routes.map((r) => `${r.method} ${r.path}`), skipped };
}
