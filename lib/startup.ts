import "server-only";
import { ConfigError, DEMO_API_KEYS, getConfig, type Config } from "@/lib/config";
import { getValkey } from "@/lib/valkey/client";

/**
 * At server start: parse the configuration, so a bad value stops start-up
 * with a message naming the variable; then open the Valkey connection, so a
 * wrong password or an unreachable server is reported in the start-up log
 * rather than on the first request. (Valkey being down does not stop the
 * server: requests follow FAIL_MODE and everything recovers when it returns.)
 */
export function checkConfigOrExit(): void {
  try {
    getConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`\n[flowgate] ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const config = getConfig();
  for (const note of startupNotes(config)) console.log(`[flowgate] ${note}`);
  const where = config.VALKEY_CLUSTER_NODES
    ? `the Valkey Cluster at ${config.VALKEY_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(", ")}`
    : `Valkey at ${redacted(config.VALKEY_URL)}`;
  getValkey().once("ready", () => console.log(`[flowgate] connected to ${where}`));
}

/** The URL without its password, for logs. */
export function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** What the start-up log says about the keys this process accepts (never a key itself). */
export function startupNotes(config: Pick<Config, "API_KEYS" | "NODE_ENV">): string[] {
  if (config.API_KEYS === DEMO_API_KEYS) {
    return [
      "API_KEYS is unset: the public demo keys (free, pro, enterprise) are accepted. Set API_KEYS to replace them; with NODE_ENV=production they are used only with FLOWGATE_DEMO=true (npm run demo, docker compose).",
    ];
  }
  if (config.API_KEYS.length === 0) {
    return [
      config.NODE_ENV === "production"
        ? "no API keys: API_KEYS is unset and NODE_ENV=production, so the demo keys are off. Every caller is anonymous, limited by its address; set API_KEYS=<key>:<tier>,... to issue keys."
        : "no API keys configured: every caller is anonymous, limited by its address.",
    ];
  }
  return [`${config.API_KEYS.length} API key${config.API_KEYS.length === 1 ? "" : "s"} configured (API_KEYS).`];
}
