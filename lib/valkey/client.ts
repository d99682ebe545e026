import "server-only";
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

export function createValkeyClient(url: string, opts: { connectTimeoutMs: number; commandTimeoutMs: number; logErrors: boolean }): Redis {
  const client = new Redis(url, {
    connectTimeout: opts.connectTimeoutMs,
    commandTimeout: opts.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect forever, quickly at first, at most once a second.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    lazyConnect: false,
    connectionName: "flowgate",
  });
  let lastLog = 0;
  client.on("error", (err: Error) => {
    // Without a listener ioredis would crash the process on errors.
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
  throw new GatewayError("valkey_unavailable", "Valkey is not reachable right now", {
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
