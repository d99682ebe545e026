import "server-only";
import { createHash } from "node:crypto";
import type { Redis, Result } from "ioredis";
import type { Algorithm } from "@/lib/tiers";
// A sibling, by relative path: it resolves the same whatever tsconfig a runner finds.
import { LUA_SOURCES } from "./lua-sources.generated";

/**
 * Composes the Lua scripts and registers them on a client with
 * defineCommand, which runs EVALSHA and falls back to EVAL on NOSCRIPT by
 * itself.
 *
 * The sources come from lua-sources.generated.ts, which
 * scripts/generate-lua.mjs writes from the .lua files under
 * lib/valkey/scripts: a module bundled with this code, so no file is read
 * at run time and the server starts from any working directory (reading the
 * .lua files from process.cwd() failed anywhere but the project root). Edit
 * the .lua file, then run the generator; tests/unit/lua-sources.test.ts
 * fails while the module is stale.
 *
 * Why a prelude instead of one big script: each algorithm lives in its own
 * file (a module with check(), commit() and refund()), while decide.lua must
 * check every dimension of a plan and consume all or nothing in ONE atomic
 * call. So each algorithm module is wrapped and put in front of decide.lua,
 * peek.lua and store.lua (for refund()) here, once, at load time: one script
 * per call, one round trip,
 * and no copy of an algorithm to keep in sync. The same module in front of
 * standalone.lua makes it a command of its own (the lab, the tests, the
 * simulator's run limit).
 */

const ALGORITHM_FILES: Record<Algorithm, string> = {
  "sliding-log": "sliding-log",
  "sliding-counter": "sliding-counter",
  "token-bucket": "token-bucket",
  "fixed-window": "fixed-window",
};

/** Raw reply of decide.lua: allowed, refused, lock, 3 × (allowed, remaining, resetAt, retryAfter, used, charged), cached. */
export type DecideReply = [number, number, number, ...(number | string | null)[]];
/** Raw reply of store.lua: stored (1|0), the cached JSON in force. */
export type StoreReply = [number, string];
/** Raw reply of cache-lookup.lua: the cached JSON or null, lock (0 none, 1 owner, 2 coalesced). */
export type CacheLookupReply = [string | null, number];
/** Raw reply of auth-failures.lua: failures in the window (this one included), ms until it ends. */
export type AuthFailuresReply = [number, number];
/** Raw reply of a standalone algorithm: allowed, limit, remaining, resetAt, retryAfter. */
export type AlgorithmReply = [number, number, number, number, number];

declare module "ioredis" {
  interface RedisCommander<Context> {
    fgDecide(...args: (string | number)[]): Result<DecideReply, Context>;
    fgStore(...args: (string | number)[]): Result<StoreReply, Context>;
    fgPeek(...args: (string | number)[]): Result<number[], Context>;
    fgCacheLookup(...args: (string | number)[]): Result<CacheLookupReply, Context>;
    fgCacheStore(...args: (string | number)[]): Result<StoreReply, Context>;
    fgUnlock(...args: (string | number)[]): Result<number, Context>;
    fgRenewLock(...args: (string | number)[]): Result<number, Context>;
    fgAuthFailures(...args: (string | number)[]): Result<AuthFailuresReply, Context>;
    fgSlidingLog(...args: (string | number)[]): Result<AlgorithmReply, Context>;
    fgSlidingCounter(...args: (string | number)[]): Result<AlgorithmReply, Context>;
    fgTokenBucket(...args: (string | number)[]): Result<AlgorithmReply, Context>;
    fgFixedWindow(...args: (string | number)[]): Result<AlgorithmReply, Context>;
  }
}

export const ALGORITHM_COMMAND = {
  "sliding-log": "fgSlidingLog",
  "sliding-counter": "fgSlidingCounter",
  "token-bucket": "fgTokenBucket",
  "fixed-window": "fgFixedWindow",
} as const satisfies Record<Algorithm, string>;

/** The source of a .lua file under lib/valkey/scripts, by its path there without `.lua`. */
export function readScript(relative: string): string {
  const source = LUA_SOURCES[relative];
  if (source === undefined) {
    throw new Error(`No Lua script lib/valkey/scripts/${relative}.lua in lua-sources.generated.ts (run node scripts/generate-lua.mjs)`);
  }
  return source;
}

/** An algorithm module as a Lua expression-statement: `local <name> = (function() … end)()`. */
export function algorithmModule(algorithm: Algorithm): string {
  const name = ALGORITHM_FILES[algorithm].replace(/-/g, "_");
  return `local ${name} = (function()\n${readScript(`algorithms/${ALGORITHM_FILES[algorithm]}`)}\nend)()\n`;
}

/**
 * A script with every algorithm module in front of it, and ALGORITHMS: name → module.
 *
 * Lazily: a script's body runs whole on every call, and building all four
 * modules (a table and its closures each) cost decide.lua about 2 µs of
 * server time per call while a plan uses one or two. So each module is a
 * loader, and ALGORITHMS builds one the first time the call names it.
 */
export function composeScript(name: "decide" | "peek" | "store"): string {
  const algorithms = Object.keys(ALGORITHM_FILES) as Algorithm[];
  const loaders = algorithms
    .map((a) => `  ["${a}"] = function()\n${readScript(`algorithms/${ALGORITHM_FILES[a]}`)}\nend,`)
    .join("\n");
  const table = [
    `local ALGORITHM_LOADERS = {\n${loaders}\n}`,
    "local ALGORITHMS = setmetatable({}, { __index = function(built, algorithm)",
    "  local load = ALGORITHM_LOADERS[algorithm]",
    "  if not load then return nil end",
    "  local module = load()",
    "  rawset(built, algorithm, module)",
    "  return module",
    "end })",
    "",
  ].join("\n");
  return [table, readScript(name)].join("\n");
}

/** One algorithm as a command of its own: its module, then the shared entry point. */
export function standaloneScript(algorithm: Algorithm): string {
  const name = ALGORITHM_FILES[algorithm].replace(/-/g, "_");
  return `${algorithmModule(algorithm)}local algorithm = ${name}\n${readScript("algorithms/standalone")}`;
}

interface ScriptDef {
  /** The ioredis command it becomes. */
  command: string;
  numberOfKeys: number;
  lua: () => string;
}

/**
 * Every script Flowgate registers, by the name /api/valkey's slow log shows:
 * one table for registerScripts() and scriptNamesBySha(), so neither can miss one.
 */
function scriptTable(): Record<string, ScriptDef> {
  const table: Record<string, ScriptDef> = {
    decide: { command: "fgDecide", numberOfKeys: 13, lua: () => composeScript("decide") },
    peek: { command: "fgPeek", numberOfKeys: 3, lua: () => composeScript("peek") },
    store: { command: "fgStore", numberOfKeys: 7, lua: () => composeScript("store") },
    // What a waiter polls (and, on a cluster, the lookup before decide): the entry, else the lock.
    "cache-lookup": { command: "fgCacheLookup", numberOfKeys: 2, lua: () => readScript("cache-lookup") },
    "renew-lock": { command: "fgRenewLock", numberOfKeys: 1, lua: () => readScript("renew-lock") },
    // Cluster only: the calls on the prompt's own slot (its cache entry and generation lock).
    "cache-store": { command: "fgCacheStore", numberOfKeys: 2, lua: () => readScript("cache-store") },
    unlock: { command: "fgUnlock", numberOfKeys: 1, lua: () => readScript("unlock") },
    "auth-failures": { command: "fgAuthFailures", numberOfKeys: 1, lua: () => readScript("auth-failures") },
  };
  for (const algorithm of Object.keys(ALGORITHM_FILES) as Algorithm[]) {
    table[algorithm] = { command: ALGORITHM_COMMAND[algorithm], numberOfKeys: 1, lua: () => standaloneScript(algorithm) };
  }
  return table;
}

let namesBySha: Map<string, string> | null = null;

/** SHA-1 of each script (what EVALSHA and SLOWLOG name it by) → its name. */
export function scriptNamesBySha(): Map<string, string> {
  namesBySha ??= new Map(
    Object.entries(scriptTable()).map(([name, def]) => [createHash("sha1").update(def.lua()).digest("hex"), name]),
  );
  return namesBySha;
}

export function registerScripts(client: Pick<Redis, "defineCommand">): void {
  for (const def of Object.values(scriptTable())) client.defineCommand(def.command, { numberOfKeys: def.numberOfKeys, lua: def.lua() });
}
