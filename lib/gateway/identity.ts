import { createHash } from "node:crypto";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import proxyaddr from "proxy-addr";
import { GatewayError } from "@/lib/errors";
import { TIER_NAMES, type TierName } from "@/lib/tiers";

/**
 * Who is calling. An API key (Authorization: Bearer, or x-api-key) selects a
 * configured key and its tier; without one the caller is its address.
 *
 * The peer address comes from `x-flowgate-peer`, which server.mjs sets from
 * the TCP socket on every request, overwriting anything a client sent.
 * X-Forwarded-For is believed only with TRUST_PROXY: walking it from the
 * right, each hop a trusted proxy appended is skipped, and the first one that
 * is not trusted is the client (Express's `trust proxy`, through proxy-addr).
 *
 * One caller must not be able to become many: an address is validated
 * (net.isIP), a port is stripped, an IPv4-mapped IPv6 address is the IPv4
 * address, and IPv6 addresses are grouped by their /IPV6_PREFIX_BITS network,
 * since one host usually holds a whole /64. Anything else is refused with a
 * 400 rather than given a window of its own.
 */

export const PEER_HEADER = "x-flowgate-peer";

/** IPv6 addresses sharing this many leading bits are one caller (a /64 is one site's subnet). */
export const DEFAULT_IPV6_PREFIX_BITS = 64;

export interface Identity {
  /** Label used in keys, stats and events. API keys appear only as a hash. */
  id: string;
  kind: "ip" | "key" | "sim";
  tier: TierName;
}

/**
 * TRUST_PROXY as parsed by lib/config.ts: a number of proxy hops (0 = none,
 * the historical form), or addresses and ranges in proxy-addr's syntax
 * (`loopback`, `linklocal`, `uniquelocal`, `10.0.0.1`, `10.0.0.0/8`, `fc00::/7`).
 */
export type TrustProxy = number | readonly string[];

export interface ApiKeyEntry {
  key: string;
  tier: TierName;
}

export interface IdentityOptions {
  apiKeys: readonly ApiKeyEntry[];
  /** Which reverse proxies in front of the app have their X-Forwarded-For believed. */
  trustProxy: TrustProxy;
  /** IPv6 prefix length one caller is grouped by; default 64. */
  ipv6PrefixBits?: number;
}

/** Short, stable, non-reversible label for an API key. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

const MAX_KEY_LENGTH = 256;

export function readApiKey(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match?.[1]) return match[1].trim();
  }
  const header = headers.get("x-api-key");
  return header ? header.trim() : null;
}

const keyDigest = (key: string) => createHash("sha256").update(key).digest("base64");

/** The configured keys by SHA-256 digest, built once per key list. */
const keyTables = new WeakMap<readonly ApiKeyEntry[], Map<string, ApiKeyEntry>>();

/**
 * The configured key a request's key names, or undefined. A Map lookup by
 * digest: no string comparison against each configured key, so the time
 * taken says nothing about how much of a key was right.
 */
export function findApiKey(apiKeys: readonly ApiKeyEntry[], key: string): ApiKeyEntry | undefined {
  if (key.length > MAX_KEY_LENGTH) return undefined;
  let table = keyTables.get(apiKeys);
  if (!table) {
    table = new Map(apiKeys.map((entry) => [keyDigest(entry.key), entry]));
    keyTables.set(apiKeys, table);
  }
  return table.get(keyDigest(key));
}

/** An identity for a configured key. */
export function keyIdentity(entry: ApiKeyEntry): Identity {
  return { id: `key:${hashApiKey(entry.key)}`, kind: "key", tier: entry.tier };
}

export function unknownKeyError(): GatewayError {
  return new GatewayError(
    "unauthorized",
    "Unknown API key. Keys are set by this gateway's operator in API_KEYS (a local demo's keys are listed in its README); send no key at all to be limited by your IP address.",
  );
}

/**
 * An address as written by a socket or a proxy → its canonical form (IPv4
 * dotted quad, IPv6 compressed lower-case without zone), or null when it is
 * not an address. Accepts `a.b.c.d:port`, `[v6]` and `[v6]:port`; folds
 * `::ffff:a.b.c.d` to `a.b.c.d`.
 */
export function parseAddress(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let text = raw.trim();
  const withPort = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (withPort?.[1]) {
    if (withPort[2] !== undefined && Number(withPort[2]) > 65_535) return null;
    text = withPort[1];
  }
  // A zone (`fe80::1%eth0`) names the receiving interface, not the caller.
  text = text.replace(/%[0-9A-Za-z_.-]+$/, "");
  if (isIP(text) === 0) return null;
  const address = ipaddr.parse(text);
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address().toString();
  }
  return address.toString();
}

/**
 * The identity part of a canonical address: an IPv4 address is itself; an
 * IPv6 address is its /prefixBits network (`2001:db8:1:2::/64`), except the
 * loopback and unspecified addresses, which are one host each.
 */
export function addressGroup(address: string, prefixBits: number = DEFAULT_IPV6_PREFIX_BITS): string {
  if (isIP(address) !== 6 || prefixBits >= 128) return address;
  const range = ipaddr.IPv6.parse(address).range();
  if (range === "loopback" || range === "unspecified") return address;
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address}/${prefixBits}`).toString()}/${prefixBits}`;
}

const trustFunctions = new WeakMap<readonly string[], (address: string, hop: number) => boolean>();

/** TRUST_PROXY → "is the hop `hop` places from the socket, at `address`, a proxy we trust?" */
export function compileTrust(trustProxy: TrustProxy): (address: string, hop: number) => boolean {
  if (typeof trustProxy === "number") return (_address, hop) => hop < trustProxy;
  let trust = trustFunctions.get(trustProxy);
  if (!trust) {
    trust = proxyaddr.compile([...trustProxy]);
    trustFunctions.set(trustProxy, trust);
  }
  return trust;
}

function invalidAddress(where: string): GatewayError {
  return new GatewayError(
    "invalid_client_address",
    `The client address in ${where} is not an IP address, so the request cannot be given a rate limit.`,
  );
}

/**
 * The client address: the socket peer, or, walking X-Forwarded-For from the
 * right, the first hop that TRUST_PROXY does not trust (the furthest one if
 * every hop is trusted). Hops left of the client are whatever the client
 * wrote and are never looked at. Throws a 400 when the address it settles on
 * is not an address; "unknown" when there is no socket address at all.
 */
export function resolveClientIp(headers: Headers, trustProxy: TrustProxy): string {
  const peerHeader = headers.get(PEER_HEADER)?.trim();
  // No socket address (e.g. run behind a server that did not set it): every
  // such caller shares one window rather than trusting a client header.
  if (!peerHeader) return "unknown";
  const peer = parseAddress(peerHeader);
  if (!peer) throw invalidAddress(PEER_HEADER);
  if (trustProxy === 0 || (Array.isArray(trustProxy) && trustProxy.length === 0)) return peer;

  const trusts = compileTrust(trustProxy);
  // Nearest first: the socket peer, then each proxy's entry from the right.
  const forwarded = (headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .reverse();
  let address = peer;
  for (let hop = 0; hop < forwarded.length && trusts(address, hop); hop++) {
    const next = parseAddress(forwarded[hop]);
    if (!next) throw invalidAddress("X-Forwarded-For");
    address = next;
  }
  return address;
}

/** The anonymous identity of the request's client address. */
export function addressIdentity(headers: Headers, options: Omit<IdentityOptions, "apiKeys">): Identity {
  const address = resolveClientIp(headers, options.trustProxy);
  const group = address === "unknown" ? address : addressGroup(address, options.ipv6PrefixBits);
  return { id: `ip:${group}`, kind: "ip", tier: "anonymous" };
}

/** `addr` or `net/bits` of an ip: label, canonical, or null. */
function parseAddressLabel(text: string, prefixBits?: number): string | null {
  if (text === "unknown") return text;
  const slash = text.lastIndexOf("/");
  if (slash < 0) {
    const address = parseAddress(text);
    if (!address) return null;
    return prefixBits ? addressGroup(address, prefixBits) : address;
  }
  // A grouped IPv6 identity: the network address of its prefix, and nothing else.
  const network = text.slice(0, slash);
  const bits = Number(text.slice(slash + 1));
  if (isIP(network) !== 6 || !/^\d{1,3}$/.test(text.slice(slash + 1)) || bits < 1 || bits > 128) return null;
  const canonical = ipaddr.IPv6.networkAddressFromCIDR(`${network}/${bits}`).toString();
  return `${canonical}/${bits}`;
}

/**
 * An identity label as it appears in URLs, stats and the stream (`ip:<addr>`,
 * `ip:<v6 network>/<bits>`, `key:<12-hex sha256 prefix>`, `sim:<tier>:<n>`)
 * and the tier it belongs to; null when it is malformed or names no
 * configured key. Raw keys are never accepted here: only their hash. With
 * ipv6PrefixBits, a single IPv6 address is folded into its group, as the
 * request path would have folded it.
 */
export function parseIdentityLabel(
  label: string,
  apiKeys: IdentityOptions["apiKeys"],
  options: { ipv6PrefixBits?: number } = {},
): Identity | null {
  if (label.startsWith("ip:")) {
    const ip = parseAddressLabel(label.slice(3), options.ipv6PrefixBits);
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
