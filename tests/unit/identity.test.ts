import { describe, expect, it } from "vitest";
import { GatewayError } from "@/lib/errors";
import { hashApiKey, resolveClientIp, resolveIdentity } from "@/lib/gateway/identity";

const apiKeys = [
  { key: "demo-pro-key", tier: "pro" as const },
  { key: "demo-free-key", tier: "free" as const },
];
const h = (entries: Record<string, string>) => new Headers(entries);

describe("identity", () => {
  it("uses the socket peer and ignores a spoofed X-Forwarded-For without TRUST_PROXY", () => {
    const headers = h({ "x-flowgate-peer": "203.0.113.9", "x-forwarded-for": "1.2.3.4" });
    expect(resolveIdentity(headers, { apiKeys, trustProxy: 0 })).toEqual({ id: "ip:203.0.113.9", kind: "ip", tier: "anonymous" });
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
    expect(resolveClientIp(h({ "x-flowgate-peer": "not an ip; DROP" }), 0)).toBe("unknown");
    expect(resolveClientIp(h({}), 0)).toBe("unknown");
    expect(resolveClientIp(h({ "x-forwarded-for": "evil, <script>" , "x-flowgate-peer": "10.0.0.1" }), 1)).toBe("10.0.0.1");
  });

  it("selects a configured key by Bearer or x-api-key and never exposes it", () => {
    const bearer = resolveIdentity(h({ authorization: "Bearer demo-pro-key" }), { apiKeys, trustProxy: 0 });
    expect(bearer).toEqual({ id: `key:${hashApiKey("demo-pro-key")}`, kind: "key", tier: "pro" });
    expect(bearer.id).not.toContain("demo");
    expect(resolveIdentity(h({ "x-api-key": "demo-free-key" }), { apiKeys, trustProxy: 0 }).tier).toBe("free");
  });

  it("refuses an unknown or oversized key with a 401 error", () => {
    for (const key of ["wrong", "x".repeat(10_000)]) {
      try {
        resolveIdentity(h({ "x-api-key": key }), { apiKeys, trustProxy: 0 });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayError);
        expect((error as GatewayError).status).toBe(401);
      }
    }
  });
});
