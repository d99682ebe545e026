import "server-only";
import { ConfigError, getConfig } from "@/lib/config";
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
  const where = config.VALKEY_CLUSTER_NODES
    ? `the Valkey Cluster at ${config.VALKEY_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(", ")}`
    : `Valkey at ${redacted(config.VALKEY_URL)}`;
  getValkey().once("ready", () => console.log(`[flowgate] connected to ${where}`));
}

/** The URL without its password, for logs. */
export function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
