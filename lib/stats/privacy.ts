import ipaddr from "ipaddr.js";
import type { Stats, TopConsumer } from "@/lib/schemas";

/**
 * What /api/stats may show of a caller's address to someone who is not the
 * operator: in production, an IPv4 address only as its /24 and an IPv6 one
 * only as its /48, enough to see a network flooding the gateway, not enough
 * to name a person. Keys (already a hash) and simulator identities pass
 * unchanged. Pure: the route decides when to apply it.
 */

export const MASK_BITS = { ipv4: 24, ipv6: 48 } as const;

/** `ip:203.0.113.77` → `ip:203.0.113.0/24`; `ip:2001:db8:1:2::/64` → `ip:2001:db8:1::/48`; anything else as it is. */
export function maskIdentity(identity: string): string {
  if (!identity.startsWith("ip:")) return identity;
  const text = identity.slice(3);
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const bits = slash < 0 ? undefined : Number(text.slice(slash + 1));
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) {
    const prefix = Math.min(bits ?? 32, MASK_BITS.ipv4);
    return `ip:${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString()}/${prefix}`;
  }
  if (ipaddr.IPv6.isValid(address)) {
    const prefix = Math.min(bits ?? 128, MASK_BITS.ipv6);
    return `ip:${ipaddr.IPv6.networkAddressFromCIDR(`${address}/${prefix}`).toString()}/${prefix}`;
  }
  // "ip:unknown", or a label this module does not understand: show nothing of it.
  return address === "unknown" ? identity : "ip:masked";
}

/** Masked top consumers: callers of one network become one row, their counts added. */
function maskTop(consumers: readonly TopConsumer[]): TopConsumer[] {
  const rows = new Map<string, TopConsumer>();
  for (const consumer of consumers) {
    const identity = maskIdentity(consumer.identity);
    const row = rows.get(identity);
    if (row) {
      row.requests += consumer.requests;
      row.blocked += consumer.blocked;
    } else {
      rows.set(identity, { ...consumer, identity });
    }
  }
  return [...rows.values()].sort((a, b) => b.requests - a.requests);
}

/** The snapshot with every caller address masked (see maskIdentity). */
export function maskStats(stats: Stats): Stats {
  return {
    ...stats,
    rateLimit: { ...stats.rateLimit, topConsumers: maskTop(stats.rateLimit.topConsumers) },
    activity: stats.activity.map((event) => ({ ...event, identity: maskIdentity(event.identity) })),
  };
}
