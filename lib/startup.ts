import "server-only";
import { ConfigError, getConfig } from "@/lib/config";

/** Parse the configuration now, so a bad value stops start-up with a message naming the variable. */
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
}
