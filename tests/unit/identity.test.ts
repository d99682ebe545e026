import { describe, expect, it } from "vitest";
import { GatewayError } from "@/lib/errors";
import {
  addressGroup,
  addressIdentity,
  findApiKey,
  hashApiKey,
  keyIdentity,
  parseAddress,
  parseIdentityLabel,
  readApiKey,
  resolveClientIp,
  type TrustProxy,
  unknownKeyError,
} from "@/lib/gateway/identity";

const apiKeys = [
  { key: "demo-pro-key", tier: "pro" as const },
  { key: "demo-free-key", tier: "free" as const },
];
const h = (entries: Record<string, string>) => new Headers(entries);

function expectInvalidAddress(call: () => unknown): void {
  try {
    call();
    expect.unreachable("expected a 400 invalid_client_address");
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    expect((error as GatewayError).code).toBe("invalid_client_address");
  }
}

/** The identity of an anonymous request from `peer`, behind `trustProxy`, with the given X-Forwarded-For. */
const idOf = (peer: string, options: { xff?: string; trustProxy?: TrustProxy; ipv6PrefixBits?: number } = {}) =>
  addressIdentity(h({ "x-flowgate-peer": peer, ...(options.xff ? { "x-forwarded-for": options.xff } : {}) }), {
    trustProxy: options.trustProxy ?? 0,
    ipv6PrefixBits: options.ipv6PrefixBits,
  }).id;

describe("identity", () => {
  it("uses the socket peer and ignores a spoofed X-Forwarded-For without TRUST_PROXY", () => {
    const headers = h({ "x-flowgate-peer": "203.0.113.9", "x-forwarded-for": "1.2.3.4" });
    expect(addressIdentity(headers, { trustProxy: 0 })).toEqual({ id: "ip:203.0.113.9", kind: "ip", tier: "anonymous" });
  });

  it("with one trusted proxy takes the address that proxy saw, not what the client wrote", () => {
    // The client wrote "6.6.6.6"; the proxy appended the real client 198.51.100.5; the peer is the proxy.
    const headers = h({ "x-flowgate-peer": "10.0.0.2", "x-forwarded-for": "6.6.6.6, 198.51.100.5" });
    expect(resolveClientIp(headers, 1)).toBe("198.51.100.5");
    expect(resolveClientIp(headers, 2)).toBe("6.6.6.6");
    expect(resolveClientIp(h({ "x-flowgate-peer": "10.0.0.2" }), 1)).toBe("10.0.0.2");
  });

  it("normalizes IPv4-mapped IPv6 and refuses garbage", () => {
    expect(resolveClientIp(h({ "x-flowgate-peer": "::ffff:127.0.0.1" }), 0)).toBe("127.0.0.1");
    expect(resolveClientIp(h({ "x-flowgate-peer": "::1" }), 0)).toBe("::1");
    // Garbage used to become the shared "unknown" caller (or the peer); since issue 10 it is refused outright.
    expectInvalidAddress(() => resolveClientIp(h({ "x-flowgate-peer": "not an ip; DROP" }), 0));
    expect(resolveClientIp(h({}), 0)).toBe("unknown");
    expectInvalidAddress(() => resolveClientIp(h({ "x-forwarded-for": "evil, <script>", "x-flowgate-peer": "10.0.0.1" }), 1));
  });

  // The steps identifyCaller (lib/gateway/auth.ts) takes for a request that sends a key.
  const keyOf = (headers: Headers) => {
    const key = readApiKey(headers);
    return key === null ? undefined : findApiKey(apiKeys, key);
  };

  it("selects a configured key by Bearer or x-api-key and never exposes it", () => {
    const bearer = keyIdentity(keyOf(h({ authorization: "Bearer demo-pro-key" }))!);
    expect(bearer).toEqual({ id: `key:${hashApiKey("demo-pro-key")}`, kind: "key", tier: "pro" });
    expect(bearer.id).not.toContain("demo");
    expect(keyOf(h({ "x-api-key": "demo-free-key" }))?.tier).toBe("free");
    expect(readApiKey(h({}))).toBeNull();
  });

  it("finds no configured key for an unknown or oversized key, which is a 401 error", () => {
    for (const key of ["wrong", "x".repeat(10_000)]) expect(keyOf(h({ "x-api-key": key }))).toBeUndefined();
    const error = unknownKeyError();
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.status).toBe(401);
  });
});

describe("one caller, one identity", () => {
  it("strips ports: ip:port and [v6]:port are the address without the port", () => {
    expect(idOf("203.0.113.5:51234")).toBe(idOf("203.0.113.5"));
    expect(idOf("203.0.113.5:51234")).toBe("ip:203.0.113.5");
    expect(idOf("[2001:db8::1]:443")).toBe(idOf("2001:db8::1"));
    expect(idOf("[2001:db8::1]")).toBe(idOf("2001:db8::1"));
    // The same through a trusted proxy that writes ports into X-Forwarded-For.
    expect(idOf("10.0.0.2", { trustProxy: 1, xff: "203.0.113.5:51234" })).toBe("ip:203.0.113.5");
    expect(idOf("10.0.0.2", { trustProxy: 1, xff: "[2001:db8::1]:443" })).toBe(idOf("2001:db8::1"));
  });

  it("folds IPv4-mapped IPv6 to IPv4 and writes IPv6 one way", () => {
    expect(idOf("::ffff:203.0.113.5")).toBe("ip:203.0.113.5");
    expect(idOf("::FFFF:cb00:7105")).toBe("ip:203.0.113.5");
    expect(parseAddress("2001:0DB8:0000::0001")).toBe("2001:db8::1");
    expect(parseAddress("fe80::1%eth0")).toBe("fe80::1");
  });

  it("groups IPv6 by a /64 by default, or by IPV6_PREFIX_BITS", () => {
    expect(idOf("2001:db8:1:2::5")).toBe("ip:2001:db8:1:2::/64");
    expect(idOf("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe(idOf("2001:db8:1:2::5"));
    expect(idOf("2001:db8:1:3::5")).not.toBe(idOf("2001:db8:1:2::5"));
    expect(idOf("2001:db8:1:3::5", { ipv6PrefixBits: 48 })).toBe("ip:2001:db8:1::/48");
    expect(idOf("2001:db8:1:3::5", { ipv6PrefixBits: 128 })).toBe("ip:2001:db8:1:3::5");
    // Loopback is one host: nothing to group.
    expect(addressGroup("::1")).toBe("::1");
    // IPv4 is never grouped.
    expect(idOf("203.0.113.5", { ipv6PrefixBits: 48 })).toBe("ip:203.0.113.5");
  });

  it("refuses junk in x-flowgate-peer or in a trusted X-Forwarded-For hop with a 400", () => {
    for (const junk of ["dead", "::::", "1.2.3", "256.1.1.1", "01.2.3.4", "203.0.113.5:99999", "unknown", "2001:db8::1:443]"]) {
      expectInvalidAddress(() => idOf(junk));
      expectInvalidAddress(() => idOf("10.0.0.2", { trustProxy: 1, xff: junk }));
      expectInvalidAddress(() => idOf("10.0.0.2", { trustProxy: ["10.0.0.0/8"], xff: `198.51.100.5, ${junk}` }));
    }
    // Junk left of the client hop is whatever the client wrote: never looked at.
    expect(idOf("10.0.0.2", { trustProxy: 1, xff: "dead, ::::, 198.51.100.5" })).toBe("ip:198.51.100.5");
  });

  it("TRUST_PROXY=loopback,10.0.0.0/8 skips those hops from the right and stops at the first other one", () => {
    const trustProxy = ["loopback", "10.0.0.0/8"];
    // Client → 10.x proxy → local proxy → app.
    expect(idOf("127.0.0.1", { trustProxy, xff: "6.6.6.6, 198.51.100.5, 10.1.2.3" })).toBe("ip:198.51.100.5");
    expect(idOf("::1", { trustProxy, xff: "198.51.100.5, 10.1.2.3" })).toBe("ip:198.51.100.5");
    expect(idOf("::ffff:10.0.0.9", { trustProxy, xff: "198.51.100.5" })).toBe("ip:198.51.100.5");
    // A peer that is not trusted: its X-Forwarded-For is not believed at all.
    expect(idOf("192.0.2.1", { trustProxy, xff: "198.51.100.5" })).toBe("ip:192.0.2.1");
    expect(idOf("11.0.0.1", { trustProxy, xff: "198.51.100.5" })).toBe("ip:11.0.0.1");
    // An untrusted hop in the middle is the client, whatever it forwarded.
    expect(idOf("10.0.0.2", { trustProxy, xff: "198.51.100.5, 203.0.113.9, 10.0.0.5" })).toBe("ip:203.0.113.9");
    // Every hop trusted: the furthest one.
    expect(idOf("10.0.0.2", { trustProxy, xff: "10.0.0.7, 127.0.0.1" })).toBe("ip:10.0.0.7");
    // Named ranges as Express knows them.
    expect(idOf("fd00::1", { trustProxy: ["uniquelocal"], xff: "198.51.100.5" })).toBe("ip:198.51.100.5");
    expect(idOf("169.254.1.1", { trustProxy: ["linklocal"], xff: "198.51.100.5" })).toBe("ip:198.51.100.5");
    expect(idOf("169.254.1.1", { trustProxy: ["uniquelocal"], xff: "198.51.100.5" })).toBe("ip:169.254.1.1");
  });

  it("parses the grouped form back from a label, canonically", () => {
    expect(parseIdentityLabel("ip:2001:db8:1:2::/64", apiKeys)).toMatchObject({ id: "ip:2001:db8:1:2::/64", tier: "anonymous" });
    expect(parseIdentityLabel("ip:2001:DB8:1:2:0::/64", apiKeys)?.id).toBe("ip:2001:db8:1:2::/64");
    expect(parseIdentityLabel("ip:2001:db8:1:2::5", apiKeys, { ipv6PrefixBits: 64 })?.id).toBe("ip:2001:db8:1:2::/64");
    expect(parseIdentityLabel("ip:unknown", apiKeys)?.id).toBe("ip:unknown");
    for (const bad of ["ip:dead", "ip:::::", "ip:2001:db8::/129", "ip:203.0.113.0/24", "ip:2001:db8::/x"]) {
      expect(parseIdentityLabel(bad, apiKeys)).toBeNull();
    }
  });
});

describe("API key lookup", () => {
  it("finds a key by its digest, and nothing for a prefix, a longer string or another case", () => {
    expect(findApiKey(apiKeys, "demo-pro-key")).toEqual({ key: "demo-pro-key", tier: "pro" });
    for (const wrong of ["demo-pro-ke", "demo-pro-key ", "DEMO-PRO-KEY", "", "x".repeat(300)]) {
      expect(findApiKey(apiKeys, wrong)).toBeUndefined();
    }
  });
});
