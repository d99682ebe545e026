import "server-only";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { getConfig } from "@/lib/config";
import { GatewayError } from "@/lib/errors";
import { registerScripts } from "@/lib/valkey/scripts";

/**
 * The one Valkey connection of this process.
 *
 * It fails fast rather than queueing: no offline queue, no per-command
 * retries, connect and command timeouts well under a second. While Valkey is
 * away, ioredis keeps reconnecting in the background (backoff capped at 1 s),
 * so the app recovers by itself when it returns.
 */

type Holder = { __flowgateValkey?: Redis };
const holder = globalThis as Holder;

/** Errors a reconnect cannot fix: the credentials in VALKEY_URL are wrong. */
const AUTH_ERROR = /WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH .*without any password/i;

export interface ValkeyClientOptions {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  logErrors: boolean;
  /** PEM file of the CA that signed the server's certificate (rediss:// with a private CA). */
  tlsCaFile?: string;
}

/** Why the client gave up for good, if it did (wrong credentials). */
const fatal = new WeakMap<Redis, string>();

export function fatalValkeyError(client: Redis): string | undefined {
  return fatal.get(client);
}

export function createValkeyClient(url: string, opts: ValkeyClientOptions): Redis {
  const client: Redis = new Redis(url, {
    connectTimeout: opts.connectTimeoutMs,
    commandTimeout: opts.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect forever, quickly at first, at most once a second; but not
    // after an authentication failure, which only a config change can fix.
    retryStrategy: (times) => (fatal.has(client) ? null : Math.min(50 * 2 ** Math.min(times, 5), 1000)),
    lazyConnect: false,
    connectionName: "flowgate",
    ...(url.startsWith("rediss://") && opts.tlsCaFile ? { tls: { ca: readFileSync(opts.tlsCaFile) } } : {}),
  });
  let lastLog = 0;
  client.on("error", (err: Error) => {
    // Without a listener ioredis would crash the process on errors.
    if (AUTH_ERROR.test(err.message) && !fatal.has(client)) {
      fatal.set(client, `Valkey rejected the credentials in VALKEY_URL (${err.message}). Not retrying: fix VALKEY_URL and restart.`);
      console.error(`[flowgate] ${fatal.get(client)}`);
      return;
    }
    const now = Date.now();
    if (opts.logErrors && now - lastLog > 5000) {
      lastLog = now;
      console.warn(`[flowgate] valkey: ${err.message}`);
    }
  });
  registerScripts(client);
  return client;
}

export function getValkey(): Redis {
  if (!holder.__flowgateValkey) {
    const config = getConfig();
    holder.__flowgateValkey = createValkeyClient(config.VALKEY_URL, {
      connectTimeoutMs: config.VALKEY_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: config.VALKEY_COMMAND_TIMEOUT_MS,
      logErrors: config.LOG_VALKEY_ERRORS,
      tlsCaFile: config.VALKEY_TLS_CA_FILE,
    });
  }
  return holder.__flowgateValkey;
}

/**
 * The client, once it is ready. The first call after start-up waits for the
 * initial connection (at most the connect timeout); afterwards a client that
 * is not ready fails at once, so a dead server costs no waiting.
 */
export async function readyValkey(): Promise<Redis> {
  const client = getValkey();
  if (client.status === "ready") return client;
  if (client.status === "connecting" || client.status === "connect" || client.status === "wait") {
    if (await waitForReady(client, getConfig().VALKEY_CONNECT_TIMEOUT_MS)) return client;
  }
  throw new GatewayError("valkey_unavailable", fatal.get(client) ?? "Valkey is not reachable right now", {
    state: client.status,
  });
}

// Concurrent first requests share one wait instead of one listener each.
const waits = new WeakMap<Redis, Promise<boolean>>();

function waitForReady(client: Redis, timeoutMs: number): Promise<boolean> {
  let wait = waits.get(client);
  if (!wait) {
    wait = new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        client.off("ready", onReady);
        client.off("end", onEnd);
        waits.delete(client);
        resolve(ok);
      };
      const onReady = () => done(true);
      const onEnd = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      client.once("ready", onReady);
      client.once("end", onEnd);
    });
    waits.set(client, wait);
  }
  return wait;
}

/** Drop the singleton (tests; never on a request path). */
export async function closeValkey(): Promise<void> {
  const client = holder.__flowgateValkey;
  holder.__flowgateValkey = undefined;
  if (client) client.disconnect();
}
