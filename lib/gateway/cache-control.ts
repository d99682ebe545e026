import type { CacheDirectives } from "@/lib/gateway/pipeline";

/**
 * A request's Cache-Control, as far as the prompt cache honours it:
 * `no-cache` (do not answer from the cache; the fresh answer replaces the
 * entry), `no-store` (do not keep this answer), `max-age=N` (only an entry
 * at most N s old may answer). Other directives are ignored, as HTTP caches
 * ignore what they do not implement.
 */
export function parseCacheControl(header: string | null): CacheDirectives {
  const out: CacheDirectives = { lookup: true, store: true, maxAgeSeconds: null };
  for (const part of (header ?? "").toLowerCase().split(",")) {
    const [name, value] = part.split("=").map((s) => s.trim());
    if (name === "no-cache") out.lookup = false;
    else if (name === "no-store") out.store = false;
    else if (name === "max-age" && value !== undefined && /^\d{1,9}$/.test(value.replace(/^"|"$/g, ""))) {
      out.maxAgeSeconds = Number(value.replace(/^"|"$/g, ""));
    }
  }
  // max-age=0 accepts nothing cached: the same as no-cache.
  if (out.maxAgeSeconds === 0) {
    out.lookup = false;
    out.maxAgeSeconds = null;
  }
  return out;
}
