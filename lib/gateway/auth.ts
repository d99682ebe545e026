import "server-only";
import { GatewayError } from "@/lib/errors";
import type { GatewayDeps } from "@/lib/gateway/deps";
import {
  addressIdentity,
  findApiKey,
  keyIdentity,
  readApiKey,
  unknownKeyError,
  type Identity,
} from "@/lib/gateway/identity";
import { shardOf } from "@/lib/valkey/keys";

/**
 * Who is calling, for every door of the gateway (generate, and the OpenAI
 * dialect): a configured API key, else the client address.
 *
 * Wrong keys are not free to try. Each one is counted against the client
 * address it came from, in Valkey (auth-failures.lua: atomic, shared by every
 * instance, gone after its window); past AUTH_FAILURES_PER_MINUTE the answer
 * is a 429 instead of a 401, so guessing costs a minute per handful of tries.
 * A configured key is found in memory and never waits for Valkey; only a
 * wrong key pays the round trip. If Valkey cannot count, the wrong key still
 * gets its 401: refusing it does not need Valkey.
 */

/** The window AUTH_FAILURES_PER_MINUTE counts over, ms. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;

export type AuthDeps = Pick<GatewayDeps, "config" | "keys" | "valkey" | "breaker" | "now">;

/** Throws GatewayError: 400 invalid_client_address, 401 unauthorized, or 429 rate_limited. */
export async function identifyCaller(headers: Headers, deps: AuthDeps): Promise<Identity> {
  const { config } = deps;
  const addressOptions = { trustProxy: config.TRUST_PROXY, ipv6PrefixBits: config.IPV6_PREFIX_BITS };
  const key = readApiKey(headers);
  if (key === null) return addressIdentity(headers, addressOptions);
  const match = findApiKey(config.API_KEYS, key);
  if (match) return keyIdentity(match);

  const client = addressIdentity(headers, addressOptions);
  const counted = await countAuthFailure(deps, client.id);
  if (counted && counted.failures > config.AUTH_FAILURES_PER_MINUTE) {
    const retryAfterSeconds = Math.max(1, Math.ceil(counted.ttlMs / 1000));
    throw new GatewayError(
      "rate_limited",
      `Too many wrong API keys from ${client.id}: ${config.AUTH_FAILURES_PER_MINUTE} per minute allowed. Try again in ${retryAfterSeconds} s.`,
      {
        retryAfter: new Date(deps.now() + retryAfterSeconds * 1000).toISOString(),
        retryAfterSeconds,
        policy: "auth-failures",
        limit: config.AUTH_FAILURES_PER_MINUTE,
        windowMs: AUTH_FAILURE_WINDOW_MS,
        identity: client.id,
      },
    );
  }
  throw unknownKeyError();
}

let lastLoggedAt = 0;

/** One more failure for this address; null when Valkey could not be asked (the caller answers 401 anyway). */
async function countAuthFailure(deps: AuthDeps, identity: string): Promise<{ failures: number; ttlMs: number } | null> {
  try {
    const [failures, ttlMs] = await deps.breaker.run(async () => {
      const client = await deps.valkey();
      return client.fgAuthFailures(deps.keys.authFailures(shardOf(identity, deps.config.VALKEY_SHARDS), identity), AUTH_FAILURE_WINDOW_MS);
    });
    return { failures: Number(failures), ttlMs: Number(ttlMs) };
  } catch (error) {
    // Fail open on counting only: the key is still refused. Logged at most every 5 s under a flood.
    const now = Date.now();
    if (deps.config.LOG_VALKEY_ERRORS && now - lastLoggedAt > 5000) {
      lastLoggedAt = now;
      console.warn(`[flowgate] could not count a wrong API key for ${identity}; answering 401 uncounted:`, error);
    }
    return null;
  }
}
