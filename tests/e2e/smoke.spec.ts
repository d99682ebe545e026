import { expect, test } from "@playwright/test";

test("the built app serves its page, and the page reads /api/stats", async ({ page }) => {
  const statsSeen = page.waitForResponse((res) => res.url().endsWith("/api/stats") && res.status() === 200);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Flowgate" })).toBeVisible();
  await statsSeen;
  await expect(page.getByTestId("connection")).toHaveText("connected");
  await page.screenshot({ path: "test-results/screenshots/smoke-desktop.png", fullPage: true });
});

test("a request through the gateway shows up in the page's counters", async ({ page, request }) => {
  await page.goto("/");
  const before = Number(await page.getByTestId("total-requests").innerText());
  const res = await request.post("/api/generate", { data: { prompt: "end-to-end hello" } });
  expect(res.status()).toBe(200);
  expect(res.headers()["x-cache"]).toMatch(/HIT|MISS/);
  await expect(page.getByTestId("total-requests")).toHaveText(String(before + 1));
});
