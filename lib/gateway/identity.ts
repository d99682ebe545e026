import { createHash } from "node:crypto";
import { GatewayError } from "@/lib/errors";
import { TIER_NAMES, type TierName } from "@/lib/tiers";

/**
 * Who is calling. An API key (Authorization: Bearer, or x-api-key) selects a
 * configured key and its tier; without one the caller is its IP address.
 *
 * The peer address comes from `x-flowgate-peer`, which server.mjs sets from
 * the TCP socket on every request, overwriting anything a client sent.
 * X-Forwarded-For is believed only with TRUST_PROXY, and then only as many
 * hops from the right as there are trusted proxies.
 */

export const PEER_HEADER = "x-flowgate-peer";

export interface Identity {
  /** Label used in keys, stats and events. API keys appear only as a hash. */
  id: string;
  kind: "ip" | "key" | "sim";
  tier: TierName;
}

export interface IdentityOptions {
  apiKeys: readonly { key: string; tier: TierName }[];
  /** Number of reverse proxies in front of the app whose X-Forwarded-For is believed. */
  trustProxy: number;
}

/** Short, stable, non-reversible label for an API key. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

const MAX_KEY_LENGTH = 256;

function readApiKey(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match?.[1]) return match[1].trim();
  }
  const header = headers.get("x-api-key");
  return header ? header.trim() : null;
}

/** An IP literal we are willing to use as a key part (v4, v6, v4-mapped v6). */
function cleanIp(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let ip = raw.trim();
  if (ip.startsWith("[") && ip.includes("]")) ip = ip.slice(1, ip.indexOf("]"));
  if (ip.startsWith("::ffff:") && ip.includes(".")) ip = ip.slice(7);
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(ip)) return null;
  return ip.toLowerCase();
}

/** The client address: the socket peer, or with N trusted proxies the Nth hop from the right. */
export function resolveClientIp(headers: Headers, trustProxy: number): string {
  const peer = cleanIp(headers.get(PEER_HEADER));
  if (trustProxy > 0) {
    // Each trusted proxy appended the address it saw; the socket peer is the last proxy.
    const chain = (headers.get("x-forwarded-for") ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean);
    if (peer) chain.push(peer);
    const candidate = cleanIp(chain[chain.length - 1 - trustProxy] ?? chain[0]);
    if (candidate) return candidate;
  }
  // No socket address (e.g. run behind a server that did not set it): every
  // such caller shares one window rather than trusting a client header.
  return peer ?? "unknown";
}

export function resolveIdentity(headers: Headers, options: IdentityOptions): Identity {
  const key = readApiKey(headers);
  if (key !== null) {
    const match =
      key.length <= MAX_KEY_LENGTH ? options.apiKeys.find((entry) => entry.key === key) : undefined;
    if (!match) {
      throw new GatewayError(
        "unauthorized",
        "Unknown API key. Send a configured key (see API_KEYS) or no key at all to be limited by IP.",
      );
    }
    return { id: `key:${hashApiKey(key)}`, kind: "key", tier: match.tier };
  }
  return { id: `ip:${resolveClientIp(headers, options.trustProxy)}`, kind: "ip", tier: "anonymous" };
}

/**
 * An identity label as it appears in URLs, stats and the stream (`ip:<addr>`,
 * `key:<12-hex sha256 prefix>`, `sim:<tier>:<n>`) and the tier it belongs
 * to; null when it is malformed or names no configured key. Raw keys are
 * never accepted here: only their hash.
 */
export function parseIdentityLabel(label: string, apiKeys: IdentityOptions["apiKeys"]): Identity | null {
  if (label.startsWith("ip:")) {
    const ip = label.slice(3) === "unknown" ? "unknown" : cleanIp(label.slice(3));
    return ip ? { id: `ip:${ip}`, kind: "ip", tier: "anonymous" } : null;
  }
  const key = /^key:([0-9a-f]{12})$/.exec(label);
  if (key) {
    const match = apiKeys.find((entry) => hashApiKey(entry.key) === key[1]);
    return match ? { id: label, kind: "key", tier: match.tier } : null;
  }
  const sim = /^sim:([a-z]+):(\d{1,6})$/.exec(label);
  if (sim && (TIER_NAMES as readonly string[]).includes(sim[1] ?? "")) {
    return { id: label, kind: "sim", tier: sim[1] as TierName };
  }
  return null;
}
