/**
 * Round trips per request, counted on the server: MONITOR lists every command
 * each connection sends (commands a script runs are marked "lua"), so the
 * top-level commands of the app server's own connection, between two marker
 * commands, are its round trips. The app never pipelines on the request path.
 */
import { Redis } from "ioredis";

export interface RoundTripResult {
  samples: number;
  /** Top-level commands per request, one entry per sample. */
  blocked: number[];
  hit: number[];
  miss: number[];
  /** The commands of the last sample of each kind, for the report. */
  commands: { blocked: string[]; hit: string[]; miss: string[] };
  /** The same, through the OpenAI door: POST /v1/chat/completions with stream: true, read to [DONE]. */
  v1: { blocked: number[]; hit: number[]; miss: number[] };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}, path = "/api/generate"): Promise<Response> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res;
}

/** The server's connection: ioredis names it "flowgate"; the bench's own connections are gone by now. */
async function appAddress(inspect: Redis): Promise<string> {
  const lines = String(await inspect.client("LIST")).split("\n").filter((l) => / name=flowgate( |$)/.test(l));
  if (lines.length !== 1) throw new Error(`expected one connection named flowgate, found ${lines.length}`);
  const address = /addr=(\S+)/.exec(lines[0] ?? "")?.[1];
  if (!address) throw new Error("no address for the app connection");
  return address;
}

export async function countRoundTrips(appUrl: string, valkeyUrl: string, opts: { samples: number; limitedKey: string; limitedKeyLimit: number }): Promise<RoundTripResult> {
  const freeKey = { "x-api-key": opts.limitedKey };
  // Warm up (modules loaded, connection open, scripts loaded), and use up the limited key's window.
  await post(appUrl, { prompt: "round trips: warm-up" });
  await post(appUrl, { prompt: "round trips: warm-up" });
  for (let i = 0; i <= opts.limitedKeyLimit; i++) await post(appUrl, { prompt: "round trips: limited" }, freeKey);

  const inspect = new Redis(valkeyUrl);
  const monitorClient = new Redis(valkeyUrl);
  const address = await appAddress(inspect);
  const seen: { source: string; command: string }[] = [];
  const monitor = await monitorClient.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    seen.push({ source, command: String(args[0]).toLowerCase() });
  });

  const topLevel = async (action: () => Promise<void>): Promise<string[]> => {
    const marker = `bench-marker-${Math.random()}`;
    seen.length = 0;
    await action();
    await inspect.echo(marker);
    const deadline = Date.now() + 2000;
    while (!seen.some((s) => s.command === "echo") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const end = seen.findIndex((s) => s.command === "echo");
    return seen.slice(0, end).filter((s) => s.source === address).map((s) => s.command);
  };
  const expectStatus = (res: Response, status: number, cache?: string) => {
    if (res.status !== status || (cache && res.headers.get("x-cache") !== cache)) {
      throw new Error(`round trips: expected ${status} ${cache ?? ""}, got ${res.status} ${res.headers.get("x-cache") ?? ""}`);
    }
  };

  const result: RoundTripResult = {
    samples: opts.samples,
    blocked: [],
    hit: [],
    miss: [],
    commands: { blocked: [], hit: [], miss: [] },
    v1: { blocked: [], hit: [], miss: [] },
  };
  const chat = (content: string, headers: Record<string, string> = {}) =>
    post(appUrl, { model: "flowgate-sim-1", stream: true, messages: [{ role: "user", content }] }, headers, "/v1/chat/completions");
  for (let i = 0; i < opts.samples; i++) {
    const prompt = `round trips: a new prompt ${i} ${Date.now()}`;
    const miss = await topLevel(async () => expectStatus(await post(appUrl, { prompt }), 200, "MISS"));
    const hit = await topLevel(async () => expectStatus(await post(appUrl, { prompt }), 200, "HIT"));
    const blocked = await topLevel(async () => expectStatus(await post(appUrl, { prompt }, freeKey), 429));
    result.miss.push(miss.length);
    result.hit.push(hit.length);
    result.blocked.push(blocked.length);
    result.commands = { miss, hit, blocked };
    const chatPrompt = `round trips: a new chat ${i} ${Date.now()}`;
    result.v1.miss.push((await topLevel(async () => expectStatus(await chat(chatPrompt), 200, "MISS"))).length);
    result.v1.hit.push((await topLevel(async () => expectStatus(await chat(chatPrompt), 200, "HIT"))).length);
    result.v1.blocked.push((await topLevel(async () => expectStatus(await chat(chatPrompt, freeKey), 429))).length);
  }
  monitorClient.disconnect();
  inspect.disconnect();
  return result;
}
