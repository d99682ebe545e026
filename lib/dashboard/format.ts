/** Formatting for the dashboard: pure, locale-stable (en-US), unit-tested. */

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export function formatCount(n: number): string {
  return Math.abs(n) >= 100_000 ? compact.format(n) : integer.format(n);
}

/** 0..1 → "42.5%"; "—" when there is nothing to divide. */
export function formatPercent(ratio: number | null, digits = 1): string {
  if (ratio === null || !Number.isFinite(ratio)) return "—";
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "—";
  if (ms === 0) return "0 ms";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes} min ${seconds} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Dollars, with enough digits that tiny demo savings are not shown as $0.00. */
export function formatCost(dollars: number): string {
  if (dollars === 0) return "$0.00";
  if (dollars < 0.01) return `$${dollars.toFixed(4)}`;
  if (dollars < 1) return `$${dollars.toFixed(3)}`;
  return `$${dollars.toFixed(2)}`;
}

/** "just now", "12 s ago", "3 min ago" relative to `now` (both Unix ms). */
export function formatAgo(timestamp: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - timestamp) / 1000));
  if (seconds < 2) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ago`;
}

/** "in 42 s" / "now" until a Unix ms instant. */
export function formatIn(timestamp: number, now: number): string {
  const seconds = Math.ceil((timestamp - now) / 1000);
  if (seconds <= 0) return "now";
  if (seconds < 60) return `in ${seconds} s`;
  return `in ${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/**
 * One formatter for every clock on the page: `toLocaleTimeString` builds a new
 * Intl.DateTimeFormat per call, and the charts' ticks and the activity feed
 * call it hundreds of times a render (the costliest function of a desktop
 * load's profile).
 */
const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

/** HH:MM:SS in the viewer's time zone, 24 h. */
export function formatClock(timestamp: number): string {
  return clock.format(timestamp);
}

/** Identities as a person reads them: "ip:1.2.3.4" → "1.2.3.4", "key:ab12…" → "key ab12…", "sim:pro:3" → "sim-3 · pro". */
export function formatIdentity(identity: string): string {
  if (identity.startsWith("ip:")) return identity.slice(3);
  if (identity.startsWith("key:")) return `key ${identity.slice(4, 12)}…`;
  if (identity.startsWith("sim:")) {
    const [, tier, n] = identity.split(":");
    return tier === "anonymous" ? `sim-${n}` : `sim-${n} · ${tier}`;
  }
  return identity;
}

const TIER_SHORT: Record<string, string> = { anonymous: "", free: "free", pro: "pro", enterprise: "ent" };

/** A chart axis label that fits one line: "sim-4 ent", "key 3c9e0123 pro", "203.0.113.7". */
export function formatAxisIdentity(identity: string, tier: string): string {
  const short = TIER_SHORT[tier] ?? tier;
  if (identity.startsWith("sim:")) return `sim-${identity.split(":")[2]}${short ? ` ${short}` : ""}`;
  if (identity.startsWith("key:")) return `key ${identity.slice(4, 10)}${short ? ` ${short}` : ""}`;
  return formatIdentity(identity);
}
