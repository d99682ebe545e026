import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { LUA_SOURCES } from "@/lib/valkey/lua-sources.generated";

/**
 * Issue 10, item 6: the server finds its Lua scripts relative to its code,
 * not process.cwd(). A separate Node process (tsx, as the benches run) whose
 * working directory is an empty temporary folder loads the script module,
 * composes decide.lua, and runs three real decisions against the suite's
 * Valkey. Reading the scripts from `${cwd}/lib/valkey/scripts` failed there
 * with ENOENT before any command was sent.
 */

const root = path.resolve(import.meta.dirname, "../..");
const url = (relative: string) => pathToFileURL(path.join(root, relative)).href;
const run = promisify(execFile);

// The child's program: plain ESM, every import by absolute URL (nothing may resolve from its cwd).
const CHILD = `
// tsx loads these .ts files as CommonJS (package.json has no "type"): their exports are the default.
const load = async (u) => { const ns = await import(u); return ns.default ?? ns; };
const [scripts, client, rateLimit, keys, policy] = await Promise.all([
  load(${JSON.stringify(url("lib/valkey/scripts.ts"))}),
  load(${JSON.stringify(url("lib/valkey/client.ts"))}),
  load(${JSON.stringify(url("lib/gateway/rate-limit.ts"))}),
  load(${JSON.stringify(url("lib/valkey/keys.ts"))}),
  load(${JSON.stringify(url("lib/gateway/policy.ts"))}),
]);
const [valkeyUrl, prefix] = process.argv.slice(-2);
const redis = client.createValkeyClient(valkeyUrl, { connectTimeoutMs: 5000, commandTimeoutMs: 5000, logErrors: true });
await new Promise((resolve, reject) => { redis.once("ready", resolve); setTimeout(() => reject(new Error("not ready")), 5000); });
const identity = { id: "ip:192.0.2.201", kind: "ip", tier: "anonymous" };
const plan = policy.policyFor("anonymous", { limit: 2, windowMs: 60000 });
const allowed = [];
for (let i = 0; i < 3; i++) {
  const d = await rateLimit.decideRequest({
    client: redis, keys: keys.createKeySpace(prefix), shards: 1, identity, policy: plan,
    requestId: "cwd-" + i, promptHash: "ab".repeat(32), promptTokens: 3, streamCap: 100, lockTtlMs: 0, now: Date.now(),
  });
  allowed.push(d.allowed);
}
redis.disconnect();
process.stdout.write(JSON.stringify({ cwd: process.cwd(), decide: scripts.readScript("decide").length, allowed }));
`;

const inspect = new Redis(inject("valkeyUrl"), { lazyConnect: true, maxRetriesPerRequest: 1 });
const elsewhere = mkdtempSync(path.join(os.tmpdir(), "flowgate-cwd-"));
afterAll(() => {
  inspect.disconnect();
  rmSync(elsewhere, { recursive: true, force: true });
});

describe("Lua scripts from any working directory", () => {
  it("a process started in an empty temporary folder composes decide.lua and decides against Valkey", async () => {
    const prefix = `t${randomBytes(4).toString("hex")}:`;
    const { stdout } = await run(
      process.execPath,
      [
        "--conditions=react-server",
        "--import",
        url("node_modules/tsx/dist/loader.mjs"),
        "--input-type=module",
        "-e",
        CHILD,
        "--",
        inject("valkeyUrl"),
        prefix,
      ],
      // tsx finds the @/ paths of tsconfig.json by this, not by the folder it runs in.
      { cwd: elsewhere, env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json") }, timeout: 25_000 },
    );
    const out = JSON.parse(stdout) as { cwd: string; decide: number; allowed: boolean[] };
    expect(out.cwd).toBe(elsewhere);
    expect(out.decide).toBe(LUA_SOURCES.decide?.length);
    // A limit of 2: the scripts ran, in Valkey, under the child's prefix.
    expect(out.allowed).toEqual([true, true, false]);
    expect(await inspect.zcard(`${prefix}{0}:rl:ip:192.0.2.201`)).toBe(2);
  });

  it("the module the server runs holds today's decide.lua (else run node scripts/generate-lua.mjs)", () => {
    // Here as well as in the unit suite: an integration run on a stale module would test yesterday's Lua.
    expect(LUA_SOURCES.decide).toBe(readFileSync(path.join(root, "lib/valkey/scripts/decide.lua"), "utf8"));
    expect(LUA_SOURCES.store).toBe(readFileSync(path.join(root, "lib/valkey/scripts/store.lua"), "utf8"));
  });
});
