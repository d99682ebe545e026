import { expect, test, type Page } from "@playwright/test";
import { DashboardPage } from "./pages/dashboard";

/**
 * A phone that opens the dashboard runs the first screen's JavaScript only:
 * the panels below it (components/later-panels.tsx) mount, and fetch their
 * code, when they scroll into view, or at once for a keyboard user.
 */

test.use({ viewport: { width: 412, height: 823 } });

/** Script responses the page has received so far. */
function scriptsSeen(page: Page): Set<string> {
  const seen = new Set<string>();
  page.on("response", (res) => {
    if (res.request().resourceType() === "script") seen.add(res.url());
  });
  return seen;
}

test("panels below a phone's first screen wait, and their code with them, until scrolled to", async ({ page }) => {
  const scripts = scriptsSeen(page);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Flowgate", level: 1 })).toBeVisible();
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "connected");
  const waiting = page.locator('[data-deferred="waiting"]');
  expect(await waiting.count()).toBeGreaterThanOrEqual(8);
  await expect(page.getByTestId("activity-feed")).toHaveCount(0);
  await expect(page.locator("svg.recharts-surface")).toHaveCount(0);
  // Each placeholder says what is coming.
  await expect(page.getByRole("status", { name: "Live activity: loading" })).toBeAttached();
  const firstLoad = scripts.size;

  await new DashboardPage(page).lookOver();
  await expect(page.getByTestId("activity-feed")).toBeVisible();
  await expect(page.getByTestId("algorithm-lab")).toBeAttached();
  // The panels' code came with them, not with the first screen.
  expect(scripts.size).toBeGreaterThan(firstLoad);
});

/** The page is hydrated (its listeners are on) once the badge has its first answer. */
async function openHydrated(page: Page): Promise<void> {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Flowgate", level: 1 })).toBeVisible();
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "connected");
}

test("a keyboard user gets every panel at the first key press, so Tab reaches every control", async ({ page }) => {
  await openHydrated(page);
  await expect(page.locator('[data-deferred="waiting"]').first()).toBeAttached();
  await page.keyboard.press("Tab");
  await expect(page.locator('[data-deferred="waiting"]')).toHaveCount(0);
  await expect(page.getByTestId("sim-fire")).toBeAttached();
  await expect(page.getByTestId("try-send")).toBeAttached();
});

test("a link to a later panel finds it: #simulator scrolls to the simulator", async ({ page }) => {
  await openHydrated(page);
  await page.getByRole("link", { name: "Fire the simulator" }).click();
  await expect(page.getByTestId("sim-fire")).toBeInViewport();
});
