import "server-only";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Redis, Result } from "ioredis";

/**
 * Loads the Lua scripts from disk (Next.js does not bundle .lua files; they
 * are listed in next.config.ts outputFileTracingIncludes) and registers them
 * on a client with defineCommand, which runs EVALSHA and falls back to EVAL
 * on NOSCRIPT by itself.
 */

export const SCRIPT_NAMES = ["decide", "store"] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const KEY_COUNTS: Record<ScriptName, number> = { decide: 8, store: 5 };

/** Raw reply of decide.lua: allowed, count, remaining, resetAt, retryAfter, cached JSON. */
export type DecideReply = [number, number, number, number, number, string | null];

declare module "ioredis" {
  interface RedisCommander<Context> {
    fgDecide(...args: (string | number)[]): Result<DecideReply, Context>;
    fgStore(...args: (string | number)[]): Result<number, Context>;
  }
}

const COMMAND_OF: Record<ScriptName, "fgDecide" | "fgStore"> = {
  decide: "fgDecide",
  store: "fgStore",
};

function scriptDir(): string {
  return path.join(process.cwd(), "lib", "valkey", "scripts");
}

const sources = new Map<ScriptName, string>();

export function readScript(name: ScriptName): string {
  let source = sources.get(name);
  if (!source) {
    source = readFileSync(path.join(scriptDir(), `${name}.lua`), "utf8");
    sources.set(name, source);
  }
  return source;
}

export function registerScripts(client: Pick<Redis, "defineCommand">): void {
  for (const name of SCRIPT_NAMES) {
    client.defineCommand(COMMAND_OF[name], {
      numberOfKeys: KEY_COUNTS[name],
      lua: readScript(name),
    });
  }
}
