import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { DashboardPage } from "./pages/dashboard";

/**
 * The admin token and the configured API keys are server-side secrets: they
 * must appear nowhere in what a browser can load. scripts/test.sh builds and
 * serves the app with a random ADMIN_TOKEN and an extra random API key.
 */

const adminToken = process.env.ADMIN_TOKEN;
const secretKey = process.env.FLOWGATE_E2E_SECRET_KEY;
const distDir = path.resolve(__dirname, "../..", process.env.FLOWGATE_DIST_DIR ?? ".next");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

test("no secret in the browser bundle, the page or the stats", async ({ page, request }) => {
  expect(adminToken, "run through `npm test`, which sets ADMIN_TOKEN for the build").toBeTruthy();
  expect(secretKey, "run through `npm test`, which sets FLOWGATE_E2E_SECRET_KEY").toBeTruthy();

  // Everything the browser can download from the build.
  const staticFiles = filesUnder(path.join(distDir, "static"));
  expect(staticFiles.length).toBeGreaterThan(5);
  for (const file of staticFiles) {
    const text = readFileSync(file, "latin1");
    expect(text.includes(adminToken!), `${file} contains ADMIN_TOKEN`).toBe(false);
    expect(text.includes(secretKey!), `${file} contains an API key`).toBe(false);
  }

  // The secret key works, and is then shown only as a hash.
  const res = await request.post("/api/generate", {
    data: { prompt: "secret e2e" },
    headers: { authorization: `Bearer ${secretKey}` },
  });
  expect(res.status()).toBe(200);
  const seen: string[] = [];
  page.on("response", async (r) => {
    if (r.url().includes("/api/")) seen.push(await r.text().catch(() => ""));
  });
  // Opened as a viewer does, scrolling it over, so the activity feed (below the first screen) mounts.
  const dashboard = new DashboardPage(page);
  const html = await (await dashboard.open())!.text();
  await dashboard.expectConnected();
  await expect(page.getByTestId("activity-item").first()).toBeVisible();
  const shown = [html, await page.content(), ...seen].join("\n");
  expect(shown).toContain("key:");
  expect(shown.includes(secretKey!)).toBe(false);
  expect(shown.includes(adminToken!)).toBe(false);
});
