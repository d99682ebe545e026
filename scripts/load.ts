/**
 * `npm run load -- --rps 200 --duration 30s --clients 50 --repeat 0.6`
 *
 * Drives a running Flowgate (default http://127.0.0.1:3000) over HTTP with
 * autocannon: POST /api/generate at a fixed rate, each request from one of
 * --clients identities (X-Forwarded-For), its prompt drawn from a small
 * repeated pool with probability --repeat (cache hits) or new (misses). A
 * live progress line on stderr; at the end, latency percentiles and what
 * happened to the requests (200 hit / 200 miss / 429 / 5xx / errors).
 *
 * Bounded: at most LIMITS.rps per second for at most LIMITS.durationSeconds,
 * and only this machine unless --allow-remote.
 */
import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import {
  USAGE,
  classify,
  clientAddress,
  emptyCounts,
  formatCounts,
  parseLoadArgs,
  progressBar,
  type LoadOptions,
} from "./lib/load-options";

interface Context {
  client?: number;
}

function promptFor(options: LoadOptions, run: string, n: number): string {
  if (Math.random() < options.repeat) {
    const k = Math.floor(Math.random() * options.pool);
    return `Load test question ${k + 1}: how does a gateway keep an LLM API affordable?`;
  }
  return `Load test ${run}, request ${n}: a question nobody asked before`;
}

async function main(): Promise<number> {
  let options: LoadOptions;
  try {
    options = parseLoadArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`load: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const run = randomBytes(3).toString("hex");
  const counts = emptyCounts();
  const identityOf = new Map<string, number>();
  let oneIdentityWarning = false;
  let n = 0;
  const tty = process.stderr.isTTY === true;
  const started = Date.now();

  const warnOneIdentity = (identity: string) => {
    oneIdentityWarning = true;
    if (tty) process.stderr.write("\r\x1b[2K");
    process.stderr.write(
      `load: warning: different clients came back as the same identity (${identity}). The server believes X-Forwarded-For only with TRUST_PROXY=1; without it all this traffic is one client.\n`,
    );
  };

  process.stderr.write(
    `load: ${options.rps}/s for ${options.durationSeconds} s to ${options.url}/api/generate from ${options.clients} clients, ${Math.round(options.repeat * 100)} % repeated prompts (pool of ${options.pool}), ${options.connections} connections\n`,
  );

  // Without a callback autocannon returns its event emitter, made thenable (its types show only the promise).
  const instance = autocannon({
    url: `${options.url}/api/generate`,
    connections: options.connections,
    overallRate: options.rps,
    duration: options.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: "POST",
        path: "/api/generate",
        setupRequest: (request, context) => {
          const client = Math.floor(Math.random() * options.clients);
          (context as Context).client = client;
          return {
            ...request,
            headers: { "content-type": "application/json", "x-forwarded-for": clientAddress(client) },
            body: JSON.stringify({ prompt: promptFor(options, run, n++) }),
          };
        },
        onResponse: (status, _body, context, headers) => {
          const h: Record<string, string | undefined> = {};
          for (const [name, value] of Object.entries(headers ?? {})) h[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
          counts[classify(status, h["x-cache"])]++;
          const identity = h["x-flowgate-identity"];
          const client = (context as Context).client;
          if (identity && client !== undefined && !oneIdentityWarning) {
            const seen = identityOf.get(identity);
            if (seen === undefined) identityOf.set(identity, client);
            else if (seen !== client) warnOneIdentity(identity);
          }
        },
      },
    ],
  }) as unknown as autocannon.Instance & PromiseLike<autocannon.Result>;
  instance.on("reqError", () => counts.error++);

  // A hard stop a little after the planned end, whatever happens.
  const hardStop = setTimeout(() => instance.stop(), (options.durationSeconds + 15) * 1000);
  const draw = () => {
    const elapsed = (Date.now() - started) / 1000;
    const done = counts.hit + counts.miss + counts.blocked + counts.serverError + counts.other + counts.error;
    const line = `${progressBar(elapsed / options.durationSeconds)} ${elapsed.toFixed(1)}/${options.durationSeconds} s  ${done.toLocaleString("en-US")} answered  ${formatCounts(counts)}`;
    if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 160) - 1)}`);
    else process.stderr.write(`${line}\n`);
  };
  const ticker = setInterval(draw, tty ? 250 : 5000);
  const onSignal = () => instance.stop();
  process.once("SIGINT", onSignal);

  const result = await instance;
  clearInterval(ticker);
  clearTimeout(hardStop);
  process.off("SIGINT", onSignal);
  draw();
  if (tty) process.stderr.write("\n");

  const answered = counts.hit + counts.miss + counts.blocked + counts.serverError + counts.other;
  const seconds = result.duration;
  const lines = [
    ``,
    `Flowgate load: ${answered.toLocaleString("en-US")} answers in ${seconds.toFixed(1)} s (${options.rps}/s asked, ${(answered / seconds).toFixed(1)}/s answered) from ${options.url}`,
    `  outcomes  ${formatCounts(counts)}`,
    `  latency   p50 ${result.latency.p50} ms · p90 ${result.latency.p90} ms · p99 ${result.latency.p99} ms · max ${result.latency.max} ms`,
    `  clients   ${options.clients} asked; ${identityOf.size} distinct identities seen by the server${oneIdentityWarning ? " (start the server with TRUST_PROXY=1 to tell them apart)" : ""}`,
    ``,
  ];
  process.stdout.write(lines.join("\n"));
  return counts.serverError > 0 || counts.error > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
