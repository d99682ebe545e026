import { expect, test } from "@playwright/test";
import OpenAI from "openai";
import type { GenerateResponse } from "@/lib/schemas";
import { DashboardPage } from "./pages/dashboard";
import { flushValkey, startValkey, stopValkey } from "./support/valkey-control";

// One server, one Valkey, tests in order: each builds on the traffic of the last.
test.describe.configure({ mode: "serial" });
// From a fresh server, whatever specs ran before this one (the first test reads the empty states).
test.beforeAll(flushValkey);

test("the page loads, reaches /api/stats and shows connected, with empty states that say what to do", async ({ page }) => {
  const dashboard = new DashboardPage(page);
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  const statsSeen = page.waitForResponse((res) => res.url().endsWith("/api/stats") && res.status() === 200);
  const response = await dashboard.open();
  await statsSeen;
  await dashboard.expectConnected();
  // Security headers on the page itself; a strict CSP with a nonce that Next's scripts carry.
  const headers = response!.headers();
  expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  // No CSP violation, no hydration mismatch, no failed script: the console stays clean.
  expect(problems).toEqual([]);
  await expect(page.getByTestId("activity-empty")).toContainText("No decisions yet");
  await expect(page.getByTestId("traffic-empty")).toBeVisible();
  await expect(page.getByTestId("door-split-empty")).toBeVisible();
});

test("the one-click simulator streams progress to completion, and the counters, chart and feed follow", async ({ page }) => {
  const dashboard = new DashboardPage(page);
  await dashboard.open();
  await dashboard.expectConnected();
  const blockedBefore = await dashboard.cardNumber("card-blocked");

  await dashboard.fireSimulator();
  // While in flight the button is disabled and the bar moves.
  await expect(dashboard.simulatorFire).toBeDisabled();
  await expect(dashboard.simulatorProgress).toHaveAttribute("aria-valuenow", "100", { timeout: 30_000 });
  await expect(dashboard.simulatorFire).toBeEnabled();

  // TokenFlow's default: 50 from one fresh client, limit 10 → 10 pass, 40 refused.
  expect(await dashboard.summaryNumber("sim-successful")).toBe(10);
  expect(await dashboard.summaryNumber("sim-blocked")).toBe(40);
  expect(await dashboard.summaryNumber("sim-failed")).toBe(0);
  await expect(page.getByTestId("sim-run-chart").locator("svg.recharts-surface")).toBeVisible();

  await expect.poll(() => dashboard.cardNumber("card-blocked"), { timeout: 10_000 }).toBe(blockedBefore + 40);
  await expect(dashboard.traffic.locator("svg.recharts-surface")).toBeVisible();
  await expect(dashboard.activityItems.first()).toBeVisible();
  await expect(page.locator('[data-testid="activity-item"][data-type="blocked"]').first()).toBeVisible();

  // Clicking an event shows the whole decision.
  await page.locator('[data-testid="activity-item"][data-type="blocked"] button').first().click();
  await expect(page.getByTestId("activity-detail")).toContainText("10 of 10 used");
  await expect(page.getByTestId("activity-detail")).toContainText("Frees up");
});

test("Try it shows a MISS, then a HIT for the same prompt, with the rate-limit headers", async ({ page }) => {
  const dashboard = new DashboardPage(page);
  await dashboard.open();
  const prompt = `e2e prompt ${Date.now()}`;
  expect(await dashboard.tryPromptOnce(prompt)).toBe("X-Cache: MISS");
  expect(await dashboard.tryPromptOnce(`  ${prompt.toUpperCase()} `)).toBe("X-Cache: HIT");
  await expect(page.getByTestId("try-headers")).toContainText("x-ratelimit-remaining");
  await expect(page.getByTestId("try-headers")).toContainText("ratelimit-policy");
  await expect(page.getByTestId("card-hit-ratio-value")).not.toHaveText("—");
  await page.screenshot({ path: "test-results/screenshots/dashboard-desktop.png", fullPage: true });
});

test("a request through the OpenAI SDK and one through /api/generate each show their door and model", async ({ page, baseURL }) => {
  const dashboard = new DashboardPage(page);
  await dashboard.open();
  await dashboard.expectConnected();
  const before = { generate: await dashboard.doorCount("generate"), openai: await dashboard.doorCount("openai") };

  // No retries: a retried request would be a second decision in the feed and the counts.
  const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: "demo-pro-key", maxRetries: 0 });
  const completion = await client.chat.completions.create({
    model: "flowgate-sim-1",
    messages: [{ role: "user", content: `e2e openai door ${Date.now()}` }],
  });
  expect(completion.choices[0]?.message.content).toBeTruthy();
  const res = await fetch(`${baseURL}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer demo-pro-key" },
    body: JSON.stringify({ prompt: `e2e generate door ${Date.now()}`, model: "flowgate-sim-1" }),
  });
  expect(res.status).toBe(200);
  const { requestId } = (await res.json()) as GenerateResponse;

  // Doors are counted at the decision, a miss's event is written when its answer is stored: a
  // snapshot taken in between has the count but not yet the row. So wait for the rows themselves,
  // picked by this test's plan (pro), not by position: the Try-it requests before were anonymous.
  await expect.poll(() => dashboard.doorCount("openai")).toBe(before.openai + 1);
  await expect.poll(() => dashboard.doorCount("generate")).toBe(before.generate + 1);
  const openaiRow = dashboard.activityByDoor("openai").filter({ hasText: "pro" }).first();
  await expect(openaiRow.getByTestId("activity-door")).toHaveText("OpenAI API");
  await expect(openaiRow.getByTestId("activity-model")).toHaveText("flowgate-sim-1");
  const generateRow = dashboard.activityByDoor("generate").filter({ hasText: "pro" }).first();
  await expect(generateRow.getByTestId("activity-door")).toHaveText("generate");
  await expect(generateRow.getByTestId("activity-model")).toHaveText("flowgate-sim-1");
  await generateRow.locator("button").click();
  await expect(page.getByTestId("activity-detail")).toContainText(requestId);
  await expect(page.getByTestId("activity-detail")).toContainText("POST /api/generate");
});

test("a 360 px phone gets the whole page without horizontal scrolling", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const dashboard = new DashboardPage(page);
  await dashboard.open();
  await dashboard.expectConnected();
  await expect(page.getByTestId("card-rpm-value")).toBeVisible();
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  await page.screenshot({ path: "test-results/screenshots/dashboard-phone.png", fullPage: true });
  await context.close();
});

test("with Valkey stopped the badge says so and keeps the last numbers; after a restart it recovers without a reload", async ({ page }) => {
  const dashboard = new DashboardPage(page);
  await dashboard.open();
  await dashboard.expectConnected();
  const requests = await dashboard.cardNumber("card-rpm");
  await stopValkey();
  try {
    await expect(dashboard.badge).toHaveAttribute("data-state", "down", { timeout: 15_000 });
    await expect(page.getByTestId("outage-banner")).toContainText("Valkey is unreachable");
    // The last good numbers stay on screen, greyed.
    expect(await dashboard.cardNumber("card-rpm")).toBe(requests);
    await page.screenshot({ path: "test-results/screenshots/dashboard-valkey-down.png" });
  } finally {
    await startValkey();
  }
  await expect(dashboard.badge).toHaveAttribute("data-state", "connected", { timeout: 20_000 });
  await expect(page.getByTestId("outage-banner")).toHaveCount(0);
});
