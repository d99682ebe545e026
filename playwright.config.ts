import { defineConfig, devices } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./tests/support/chromium";

const port = Number(process.env.E2E_PORT ?? 3100);

/**
 * End-to-end tests drive the built app (`next build` first) in Debian's
 * Chromium; Playwright's own browser download is not used.
 */
export default defineConfig({
  testDir: "tests",
  outputDir: "test-results/e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
  projects: [
    { name: "chromium", testDir: "tests/e2e", use: { ...devices["Desktop Chrome"], channel: undefined } },
    // Valkey killed, restarted and hung under load (npm run test:faults runs only these).
    { name: "faults", testDir: "tests/faults" },
  ],
  webServer: {
    command: "node scripts/e2e-server.mjs",
    url: `http://127.0.0.1:${port}/api/stats`,
    env: { PORT: String(port) },
    reuseExistingServer: false,
    // SIGTERM, not the default SIGKILL of the process group: scripts/e2e-server.mjs then stops the
    // Valkey it started, including one an outage test restarted in a group of its own.
    gracefulShutdown: { signal: "SIGTERM", timeout: 5000 },
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
