/**
 * The load generator's options and bookkeeping, kept pure so unit tests pin
 * them: argument parsing with hard bounds, the local-only target check, and
 * how an answer is counted.
 */

export interface LoadOptions {
  url: string;
  /** Requests per second asked of autocannon (overall, all connections). */
  rps: number;
  durationSeconds: number;
  /** Distinct identities, sent as X-Forwarded-For (the server must run with TRUST_PROXY). */
  clients: number;
  /** Share of prompts drawn from a small repeated pool (cache hits), 0..1. */
  repeat: number;
  /** Size of that pool. */
  pool: number;
  connections: number;
  allowRemote: boolean;
  help: boolean;
}

export const LIMITS = {
  rps: 5000,
  durationSeconds: 600,
  clients: 65_536,
  pool: 1000,
  connections: 256,
} as const;

export const USAGE = `Usage: npm run load -- [options]

Drives a running Flowgate over HTTP (POST /api/generate) with autocannon.

  --url URL          target (default http://127.0.0.1:3000); only localhost unless --allow-remote
  --rps N            requests per second, all clients together (default 50, at most ${LIMITS.rps})
  --duration T       how long: 30s, 2m, or seconds (default 30s, at most ${LIMITS.durationSeconds / 60} min)
  --clients N        distinct clients, sent as X-Forwarded-For (default 10, at most ${LIMITS.clients});
                     the server believes that header only when started with TRUST_PROXY=1
  --repeat F         share of prompts from a small repeated pool, 0..1 (default 0.5): cache hits
  --pool N           size of the repeated pool (default 20)
  --connections N    concurrent connections (default min(clients, 32), at most ${LIMITS.connections})
  --allow-remote     allow a target other than localhost / 127.0.0.1 / ::1
  --help             this text
`;

/** "30s", "2m", "1500ms", "45" (seconds) → seconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!match?.[1]) throw new Error(`--duration: "${raw}" is not a duration like 30s, 2m or 45`);
  const value = Number(match[1]);
  const unit = match[2] ?? "s";
  return unit === "ms" ? value / 1000 : unit === "m" ? value * 60 : value;
}

export function isLocalTarget(url: string): boolean {
  const { hostname } = new URL(url);
  return ["127.0.0.1", "localhost", "::1", "[::1]"].includes(hostname);
}

function numberIn(name: string, raw: string | undefined, min: number, max: number, integer = true): number {
  if (raw === undefined) throw new Error(`${name} needs a value`);
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new Error(`${name}: "${raw}" must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
  }
  return value;
}

/** Parse argv (without node and the script); throws an Error naming the bad option. */
export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const options: LoadOptions = {
    url: "http://127.0.0.1:3000",
    rps: 50,
    durationSeconds: 30,
    clients: 10,
    repeat: 0.5,
    pool: 20,
    connections: 0,
    allowRemote: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--url":
        options.url = String(value() ?? "");
        break;
      case "--rps":
        options.rps = numberIn("--rps", value(), 1, LIMITS.rps);
        break;
      case "--duration": {
        const raw = value();
        if (raw === undefined) throw new Error("--duration needs a value");
        options.durationSeconds = parseDuration(raw);
        if (options.durationSeconds <= 0 || options.durationSeconds > LIMITS.durationSeconds) {
          throw new Error(`--duration: must be more than 0 and at most ${LIMITS.durationSeconds} s`);
        }
        break;
      }
      case "--clients":
        options.clients = numberIn("--clients", value(), 1, LIMITS.clients);
        break;
      case "--repeat":
        options.repeat = numberIn("--repeat", value(), 0, 1, false);
        break;
      case "--pool":
        options.pool = numberIn("--pool", value(), 1, LIMITS.pool);
        break;
      case "--connections":
        options.connections = numberIn("--connections", value(), 1, LIMITS.connections);
        break;
      case "--allow-remote":
        options.allowRemote = true;
        break;
      case "--help":
      case "-h":
        options.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new Error(`--url: "${options.url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("--url: must be http:// or https://");
  options.url = options.url.replace(/\/+$/, "");
  if (!options.allowRemote && !isLocalTarget(options.url)) {
    throw new Error(`--url: ${parsed.hostname} is not this machine; add --allow-remote if you mean it`);
  }
  if (options.connections === 0) options.connections = Math.min(options.clients, 32);
  return options;
}

/** The address a client index is sent as: 198.18.0.0/15, the range set aside for benchmarks. */
export function clientAddress(index: number): string {
  return `198.${18 + ((index >> 16) & 1)}.${(index >> 8) & 255}.${index & 255}`;
}

export type Outcome = "hit" | "miss" | "blocked" | "serverError" | "other" | "error";

export function classify(status: number, cacheHeader: string | undefined): Outcome {
  if (status === 200) {
    if (cacheHeader?.toUpperCase() === "HIT") return "hit";
    if (cacheHeader?.toUpperCase() === "MISS") return "miss";
    return "other";
  }
  if (status === 429) return "blocked";
  if (status >= 500) return "serverError";
  return "other";
}

export type OutcomeCounts = Record<Outcome, number>;

export const emptyCounts = (): OutcomeCounts => ({ hit: 0, miss: 0, blocked: 0, serverError: 0, other: 0, error: 0 });

export function formatCounts(c: OutcomeCounts): string {
  const n = (v: number) => v.toLocaleString("en-US");
  return `200 hit ${n(c.hit)} · 200 miss ${n(c.miss)} · 429 ${n(c.blocked)} · 5xx ${n(c.serverError)} · other ${n(c.other)} · errors ${n(c.error)}`;
}

/** A one-line progress bar, `width` cells wide. */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}
