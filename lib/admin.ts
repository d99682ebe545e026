import "server-only";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Config } from "@/lib/config";
import { GatewayError } from "@/lib/errors";

/**
 * Admin routes (/api/limits) need ADMIN_TOKEN, sent as
 * `Authorization: Bearer <token>` or `x-admin-token: <token>`:
 * no token → 401, a wrong one → 403. With ADMIN_TOKEN unset the routes are
 * switched off and answer 403 admin_disabled, saying how to switch them on
 * (403 rather than 404: the route exists, and no token could be right).
 */
export function requireAdmin(headers: Headers, config: Pick<Config, "ADMIN_TOKEN">): void {
  if (!config.ADMIN_TOKEN) {
    throw new GatewayError("admin_disabled", "Admin routes are disabled: set ADMIN_TOKEN (16+ characters) to enable them.");
  }
  const auth = headers.get("authorization");
  const bearer = auth ? /^Bearer\s+(.+)$/i.exec(auth.trim())?.[1]?.trim() : undefined;
  const token = bearer ?? headers.get("x-admin-token")?.trim();
  if (!token) {
    throw new GatewayError("unauthorized", "Admin token required: send Authorization: Bearer <ADMIN_TOKEN>.");
  }
  // Compare digests: equal length, constant time, whatever was sent.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  if (!timingSafeEqual(digest(token), digest(config.ADMIN_TOKEN))) {
    throw new GatewayError("forbidden", "Wrong admin token.");
  }
}

/** Whether the request carries the right admin token (the same check, as a yes or no). */
export function isAdmin(headers: Headers, config: Pick<Config, "ADMIN_TOKEN">): boolean {
  try {
    requireAdmin(headers, config);
    return true;
  } catch (error) {
    if (error instanceof GatewayError) return false;
    throw error;
  }
}
