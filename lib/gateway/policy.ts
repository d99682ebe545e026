import type { TierName } from "@/lib/tiers";
import { TIERS } from "@/lib/tiers";

export interface Policy {
  tier: TierName;
  limit: number;
  windowMs: number;
  /** Name used in the RateLimit-Policy header and in 429 bodies. */
  name: string;
}

/** The limit that applies to a tier; the anonymous row comes from config. */
export function policyFor(
  tier: TierName,
  anonymous: { limit: number; windowMs: number },
): Policy {
  const row = tier === "anonymous" ? anonymous : TIERS[tier];
  return { tier, limit: row.limit, windowMs: row.windowMs, name: tier };
}
