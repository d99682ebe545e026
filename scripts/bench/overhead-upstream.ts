/**
 * The overhead phase's upstream, in a process of its own so neither the load
 * generator nor a gateway shares its event loop: the tests' OpenAI-compatible
 * server (tests/support/fake-upstream.ts), answering at once, on 127.0.0.1.
 * Prints one JSON line, {"url": "http://127.0.0.1:PORT/v1"}, when it listens;
 * exits when its parent goes (stdin closes) or on SIGTERM.
 */
import { startFakeUpstream } from "../../tests/support/fake-upstream";

async function main(): Promise<void> {
  const upstream = await startFakeUpstream({ reply: "Overhead is what a gateway adds to a call.", models: ["fake-model"] });
  // The fake keeps every request for the tests to inspect; a bench sends hundreds of thousands.
  setInterval(() => upstream.requests.splice(0), 1000).unref();
  process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
  const stop = () => void upstream.close().then(() => process.exit(0));
  process.stdin.on("end", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
