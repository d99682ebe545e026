import { afterAll, describe, expect, it } from "vitest";
import { errorBodySchema } from "@/lib/schemas";
import { generateRequest, keysUnder, loadApp, type LoadedApp } from "../support/app";

/** One caller, one window: ports, IPv6 /64s and junk addresses through the generate route (issue 10, item 1). */

let app: LoadedApp;
afterAll(() => app?.close());

/** Statuses of `n` requests, each from the next address `from(i)` gives, in order. */
async function statuses(n: number, from: (i: number) => { ip: string; headers?: Record<string, string> }): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await app.generate.POST(generateRequest(`addr ${i}`, from(i)))).status);
  return out;
}

describe("client addresses", () => {
  it("ip:port and [v6]:port share the window of the address without the port", async () => {
    app = await loadApp({ RATE_LIMIT_MAX: "3" });
    // A new source port per connection must not be a new caller.
    expect(await statuses(5, (i) => ({ ip: `203.0.113.5:${51_000 + i}` }))).toEqual([200, 200, 200, 429, 429]);
    expect((await app.generate.POST(generateRequest("bare", { ip: "203.0.113.5" }))).status).toBe(429);
    expect(await statuses(4, (i) => ({ ip: i % 2 ? "[2001:db8:5::1]:443" : "2001:db8:5::1" }))).toEqual([200, 200, 200, 429]);
  });

  it("two addresses in one IPv6 /64 share a window; another /64 does not", async () => {
    const res = await app.generate.POST(generateRequest("v6", { ip: "2001:db8:aa:1::1" }));
    expect(res.headers.get("x-flowgate-identity")).toBe("ip:2001:db8:aa:1::/64");
    expect(await statuses(3, (i) => ({ ip: `2001:db8:aa:1:${i + 2}::${i + 7}` }))).toEqual([200, 200, 429]);
    const other = await app.generate.POST(generateRequest("v6", { ip: "2001:db8:aa:2::1" }));
    expect(other.status).toBe(200);
    expect(other.headers.get("x-flowgate-identity")).toBe("ip:2001:db8:aa:2::/64");
    // The window is one key per /64, not per address.
    expect(await app.inspect.zcard(`${app.prefix}{0}:rl:ip:2001:db8:aa:1::/64`)).toBe(3);
  });

  it("IPV6_PREFIX_BITS widens the group", async () => {
    await app.close();
    app = await loadApp({ RATE_LIMIT_MAX: "2", IPV6_PREFIX_BITS: "48" });
    expect(await statuses(3, (i) => ({ ip: `2001:db8:bb:${i + 1}::1` }))).toEqual([200, 200, 429]);
  });

  it("junk in x-flowgate-peer or in a trusted X-Forwarded-For is a 400 in JSON, and writes nothing", async () => {
    await app.close();
    app = await loadApp({ TRUST_PROXY: "1" });
    const before = await keysUnder(app.inspect, app.prefix);
    const requests = [
      generateRequest("junk", { ip: "dead" }),
      generateRequest("junk", { ip: "::::" }),
      generateRequest("junk", { ip: "10.0.0.2", headers: { "x-forwarded-for": "dead" } }),
      generateRequest("junk", { ip: "10.0.0.2", headers: { "x-forwarded-for": "198.51.100.5, ::::" } }),
    ];
    for (const request of requests) {
      const res = await app.generate.POST(request);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/json");
      const body = errorBodySchema.parse(await res.json());
      expect(body.code).toBe("invalid_client_address");
      expect(body.error).not.toMatch(/dead|::::/);
    }
    expect(await keysUnder(app.inspect, app.prefix)).toEqual(before);
  });

  it("TRUST_PROXY=loopback,10.0.0.0/8 believes those hops and no others", async () => {
    await app.close();
    app = await loadApp({ TRUST_PROXY: "loopback,10.0.0.0/8" });
    const identity = async (ip: string, xff: string) =>
      (await app.generate.POST(generateRequest(`proxy ${ip} ${xff}`, { ip, headers: { "x-forwarded-for": xff } }))).headers.get(
        "x-flowgate-identity",
      );
    // Client 198.51.100.5 → proxy 10.1.2.3 → local proxy (peer ::1); what the client wrote (6.6.6.6) is skipped past.
    expect(await identity("::1", "6.6.6.6, 198.51.100.5, 10.1.2.3")).toBe("ip:198.51.100.5");
    expect(await identity("127.0.0.1", "198.51.100.6")).toBe("ip:198.51.100.6");
    expect(await identity("10.9.9.9", "198.51.100.7")).toBe("ip:198.51.100.7");
    // Not trusted: 192.168.x (not in the list) as the peer, or as a hop in the middle.
    expect(await identity("192.168.1.1", "198.51.100.8")).toBe("ip:192.168.1.1");
    expect(await identity("10.0.0.2", "198.51.100.9, 192.168.1.1")).toBe("ip:192.168.1.1");
  });
});
