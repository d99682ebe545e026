/**
 * What `npm run tail` and `npm run export` share: a Valkey client for
 * blocking stream reads, waiting for it to be ready, and the one-line words
 * they print about it.
 */
import { ConfigError, getConfig, type Config } from "@/lib/config";
import { createValkeyClient, fatalValkeyError, getValkey, type ValkeyClient } from "@/lib/valkey/client";

/**
 * A tool's arguments and the gateway's configuration, or the exit code when
 * there is nothing to run: 0 after --help, 2 for bad arguments or settings
 * (said in one line on stderr, with the usage for bad arguments).
 */
export function startCli<T extends { help: boolean }>(
  name: string,
  usage: string,
  parse: (argv: string[]) => T,
): { options: T; config: Config } | number {
  let options: T;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`flowgate ${name}: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    return { options, config: getConfig() };
  } catch (error) {
    process.stderr.write(`flowgate ${name}: ${error instanceof ConfigError ? error.message : reason(error)}\n`);
    return 2;
  }
}

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
