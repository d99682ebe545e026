import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LUA_SOURCES } from "@/lib/valkey/lua-sources.generated";

/**
 * lib/valkey/lua-sources.generated.ts is what the server runs; the .lua
 * files are what people edit. This fails as soon as the two differ, so a
 * script edited without `node scripts/generate-lua.mjs` cannot pass the
 * suite (the build's prebuild step would regenerate it, but the tests would
 * have run the old text).
 */

const scriptsDir = path.resolve(import.meta.dirname, "../../lib/valkey/scripts");

function luaOnDisk(dir: string, prefix = ""): Record<string, string> {
  const found: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(found, luaOnDisk(path.join(dir, entry.name), relative));
    else if (entry.name.endsWith(".lua")) found[relative.replace(/\.lua$/, "")] = readFileSync(path.join(dir, entry.name), "utf8");
  }
  return found;
}

describe("generated Lua sources", () => {
  it("hold every .lua file under lib/valkey/scripts, byte for byte (else run node scripts/generate-lua.mjs)", () => {
    const disk = luaOnDisk(scriptsDir);
    expect(Object.keys(LUA_SOURCES).sort()).toEqual(Object.keys(disk).sort());
    for (const [name, source] of Object.entries(disk)) expect(LUA_SOURCES[name], `${name}.lua`).toBe(source);
    // The scripts the app registers are all there.
    for (const name of ["decide", "store", "peek", "cache-lookup", "cache-store", "unlock", "renew-lock", "auth-failures", "algorithms/standalone"]) {
      expect(LUA_SOURCES[name], name).toBeTruthy();
    }
  });
});
