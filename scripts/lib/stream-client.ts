/**
 * What `npm run tail` and `npm run export` share: a Valkey client for
 * blocking stream reads, waiting for it to be ready, and the one-line words
 * they print about it.
 */
import type { Config } from "@/lib/config";
import { createValkeyClient, fatalValkeyError, getValkey, type ValkeyClient } from "@/lib/valkey/client";

/** One XREAD / XREADGROUP BLOCK, ms. */
export const BLOCK_MS = 1000;
/** Retry delays while Valkey is away, ms. */
export const BACKOFF_MS = { first: 250, max: 5000 } as const;

/** VALKEY_URL without its password, for messages. */
export function shownUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}

/** The reason in an error, one line. */
export function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A client for blocking reads: the gateway's own client options, with a
 * command timeout that outlasts one BLOCK plus `slackMs` for the read itself.
 * A cluster uses the gateway's client as it is: its streams live on different
 * slots, so they are read one by one without BLOCK.
 */
export function openStreamClient(config: Config, slackMs: number): ValkeyClient {
  if (config.VALKEY_CLUSTER_NODES) return getValkey();
  return createValkeyClient(config.VALKEY_URL, {
    connectTimeoutMs: config.VALKEY_CONNECT_TIMEOUT_MS,
    commandTimeoutMs: Math.max(config.VALKEY_COMMAND_TIMEOUT_MS, BLOCK_MS + slackMs),
    // The process says what went wrong itself, once, instead of every 5 s.
    logErrors: false,
    tlsCaFile: config.VALKEY_TLS_CA_FILE,
  });
}

/** Resolves once the client is ready; rejects with the last connection error after `timeoutMs`. */
export function waitReady(client: ValkeyClient, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    let last = "no answer";
    const onError = (error: Error) => {
      last = reason(error);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(fatalValkeyError(client) ?? last));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.off("error", onError);
      client.off("ready", onReady);
    };
    client.on("error", onError);
    client.once("ready", onReady);
  });
}
