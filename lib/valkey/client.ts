import "server-only";
import { readFileSync } from "node:fs";
import { Cluster, Redis, ReplyError, type ClusterOptions } from "ioredis";
import { getConfig } from "@/lib/config";
import { GatewayError, isGatewayError } from "@/lib/errors";
import { registerScripts } from "@/lib/valkey/scripts";

/**
 * The one Valkey connection of this process.
 *
 * It fails fast rather than queueing: no offline queue, no per-command
 * retries, connect and command timeouts well under a second. While Valkey is
 * away, ioredis keeps reconnecting in the background (backoff capped at 1 s),
 * so the app recovers by itself when it returns.
 *
 * With VALKEY_CLUSTER_NODES set it is an ioredis Cluster instead, with the
 * same behaviour: it refuses commands while the cluster is not ready, follows
 * MOVED/ASK redirections a bounded number of times, and rediscovers the
 * cluster from its seed nodes with the same capped backoff.
 */

/** A standalone server or a cluster: both run the same registered scripts. */
export type ValkeyClient = Redis | Cluster;

type Holder = { __flowgateValkey?: ValkeyClient };
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
const fatal = new WeakMap<ValkeyClient, string>();

export function fatalValkeyError(client: ValkeyClient): string | undefined {
  return fatal.get(client);
}

/**
 * Reply errors a Valkey sends while it cannot serve: as unusable as no answer
 * at all. OOM is a full server whose maxmemory-policy evicts nothing: every
 * decision writes, so none can be made until memory frees up.
 */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOAUTH|WRONGPASS|OOM)\b/;
const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** ioredis's own words when it gives up on a command (its class names do not survive bundling, its messages do). */
const UNAVAILABLE_MESSAGES =
  /^(Command timed out|Connection is closed|Stream isn't writeable|Reached the max retries per request limit|Failed to refresh slots cache|None of startup nodes is available)/;

/**
 * Whether an error means Valkey cannot be used right now (unreachable, timed
 * out, not ready, refusing to serve): those follow FAIL_MODE. Anything else
 * (a script's WRONGTYPE, a reply the code cannot read, a missing file) is a
 * bug to report as a 500, not a reason to serve traffic unlimited.
 */
export function isValkeyUnavailable(error: unknown): boolean {
  if (isGatewayError(error)) return error.code === "valkey_unavailable";
  if (!(error instanceof Error)) return false;
  if (error instanceof ReplyError) return UNAVAILABLE_REPLIES.test(error.message);
  const code = (error as NodeJS.ErrnoException).code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  return UNAVAILABLE_MESSAGES.test(error.message);
}

/** Valkey refused a write for want of memory (maxmemory reached, and nothing it may evict). */
export function isValkeyOutOfMemory(error: unknown): boolean {
  return error instanceof ReplyError && /^OOM\b/.test((error as Error).message);
}

export function isClusterClient(client: ValkeyClient): client is Cluster {
  return client instanceof Cluster;
}

/** Reconnect forever, quickly at first, at most once a second; never after an authentication failure. */
function backoff(client: ValkeyClient, times: number): number | null {
  return fatal.has(client) ? null : Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

/** Logs Valkey errors at most every 5 s, and turns an authentication failure into a stop. */
function watchErrors(client: ValkeyClient, opts: ValkeyClientOptions, source: string): (err: Error) => void {
  let lastLog = 0;
  return (err: Error) => {
    // A cluster reports a seed node's failure inside its own error.
    const message = [err.message, (err as Error & { lastNodeError?: Error }).lastNodeError?.message].filter(Boolean).join(": ");
    if (AUTH_ERROR.test(message) && !fatal.has(client)) {
      // The sentence is ours (answers and stats show it); the server's own words go to the log only.
      fatal.set(client, `Valkey rejected the credentials in ${source}. Not retrying: fix ${source} and restart.`);
      console.error(`[flowgate] ${fatal.get(client)} (${message})`);
      return;
    }
    const now = Date.now();
    if (opts.logErrors && now - lastLog > 5000) {
      lastLog = now;
      console.warn(`[flowgate] valkey: ${message}`);
    }
  };
}

export function createValkeyClient(url: string, opts: ValkeyClientOptions): Redis {
  const client: Redis = new Redis(url, {
    connectTimeout: opts.connectTimeoutMs,
    commandTimeout: opts.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Reconnect forever, quickly at first, at most once a second; but not
    // after an authentication failure, which only a config change can fix.
    retryStrategy: (times) => backoff(client, times),
    lazyConnect: false,
    connectionName: "flowgate",
    ...(url.startsWith("rediss://") && opts.tlsCaFile ? { tls: { ca: readFileSync(opts.tlsCaFile) } } : {}),
  });
  // Without a listener ioredis would crash the process on errors.
  client.on("error", watchErrors(client, opts, "VALKEY_URL"));
  registerScripts(client);
  return client;
}

export interface ValkeyClusterOptions extends ValkeyClientOptions {
  username?: string;
  password?: string;
  /** TLS to every node (with tlsCaFile as the CA when given). */
  tls: boolean;
}

export function createValkeyCluster(nodes: { host: string; port: number }[], opts: ValkeyClusterOptions): Cluster {
  const options: ClusterOptions = {
    // Refuse commands at once while the cluster is not ready (no offline queue),
    // and rediscover it from the seed nodes with the same capped backoff.
    enableOfflineQueue: false,
    clusterRetryStrategy: (times) => backoff(client, times),
    // Redirections (MOVED/ASK during a resharding, TRYAGAIN, CLUSTERDOWN, a lost
    // node) are followed quickly and a bounded number of times: fail fast.
    maxRedirections: 6,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    slotsRefreshTimeout: opts.connectTimeoutMs,
    lazyConnect: false,
    redisOptions: {
      connectTimeout: opts.connectTimeoutMs,
      commandTimeout: opts.commandTimeoutMs,
      // No per-command retries; node connections keep ioredis's own offline
      // queue only to bridge their lazy first connect (the cluster gate above
      // is what refuses commands while Valkey is away).
      maxRetriesPerRequest: 0,
      connectionName: "flowgate",
      ...(opts.username ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
      ...(opts.tls ? { tls: opts.tlsCaFile ? { ca: readFileSync(opts.tlsCaFile) } : {} } : {}),
    },
  };
  const client: Cluster = new Cluster(nodes, options);
  const onError = watchErrors(client, opts, opts.password ? "VALKEY_PASSWORD / VALKEY_URL" : "VALKEY_URL");
  client.on("error", onError);
  // A node's own failure (wrong password on that node, a refused connection).
  client.on("node error", onError);
  registerScripts(client);
  return client;
}

/** Username and password carried by a redis:// URL, if any. */
function urlCredentials(url: string): { username?: string; password?: string } {
  try {
    const parsed = new URL(url);
    return {
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    };
  } catch {
    return {};
  }
}

export function getValkey(): ValkeyClient {
  if (!holder.__flowgateValkey) {
    const config = getConfig();
    const opts: ValkeyClientOptions = {
      connectTimeoutMs: config.VALKEY_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: config.VALKEY_COMMAND_TIMEOUT_MS,
      logErrors: config.LOG_VALKEY_ERRORS,
      tlsCaFile: config.VALKEY_TLS_CA_FILE,
    };
    if (config.VALKEY_CLUSTER_NODES) {
      const fromUrl = urlCredentials(config.VALKEY_URL);
      holder.__flowgateValkey = createValkeyCluster(config.VALKEY_CLUSTER_NODES, {
        ...opts,
        username: fromUrl.username,
        password: config.VALKEY_PASSWORD ?? fromUrl.password,
        tls: config.VALKEY_CLUSTER_TLS || config.VALKEY_URL.startsWith("rediss://"),
      });
    } else {
      holder.__flowgateValkey = createValkeyClient(config.VALKEY_URL, opts);
    }
  }
  return holder.__flowgateValkey;
}

/**
 * The client, once it is ready. The first call after start-up waits for the
 * initial connection (at most the connect timeout); afterwards a client that
 * is not ready fails at once, so a dead server costs no waiting.
 */
export async function readyValkey(): Promise<ValkeyClient> {
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
const waits = new WeakMap<ValkeyClient, Promise<boolean>>();

function waitForReady(client: ValkeyClient, timeoutMs: number): Promise<boolean> {
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
