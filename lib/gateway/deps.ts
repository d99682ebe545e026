import "server-only";
import type { Redis } from "ioredis";
import { getConfig, type Config } from "@/lib/config";
import { readyValkey } from "@/lib/valkey/client";
import { createKeySpace, type KeySpace } from "@/lib/valkey/keys";

/** What the gateway needs from the outside world, in one object. */
export interface GatewayDeps {
  config: Config;
  keys: KeySpace;
  /** The Valkey client once ready; throws GatewayError(valkey_unavailable) fast if not. */
  valkey: () => Promise<Redis>;
  /** Unix ms. */
  now: () => number;
}

let deps: GatewayDeps | undefined;

export function getGatewayDeps(): GatewayDeps {
  if (!deps) {
    const config = getConfig();
    deps = { config, keys: createKeySpace(config.VALKEY_PREFIX), valkey: readyValkey, now: Date.now };
  }
  return deps;
}
