/**
 * Runs once when the server starts. The Node-only part lives in
 * lib/startup.ts so the Edge bundle never sees process.exit.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { checkConfigOrExit } = await import("@/lib/startup");
    checkConfigOrExit();
  }
}
