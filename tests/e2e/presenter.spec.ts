import { expect, test, type Response } from "@playwright/test";
import { formatClock, formatCost, formatCount, formatMs } from "@/lib/dashboard/format";
import { STEP_TITLES } from "@/lib/dashboard/presenter";
import { labResultSchema, valkeyViewsSchema, type Stats } from "@/lib/schemas";
import { DashboardPage } from "./pages/dashboard";
import { PresenterMode, fetchStats } from "./pages/presenter";

/**
 * Presenter mode end to end on the suite's own server and Valkey: the story
 * runs its real traffic, and every caption is checked against what the
 * gateway answered (/api/simulate's summary, /api/lab, /api/valkey) or what
 * /api/stats says at that moment.
 */

test.describe.configure({ mode: "serial" });

const FULL_HD = { width: 1920, height: 1080 };
const LAPTOP = { width: 1440, height: 900 };

/**
 * A step's run as /api/stats counts it: the difference of its totals before
 * and after (nothing else sends traffic meanwhile). Reading the run's own
 * NDJSON answer is not reliable here: Chromium does not always keep a body
 * the page read as a stream.
 */
function runBetween(before: Stats, after: Stats): { total: number; successful: number; blocked: number; cached: number } {
  const total = after.totals.requests - before.totals.requests;
  const blocked = after.totals.blocked - before.totals.blocked;
  return { total, blocked, successful: total - blocked, cached: after.totals.hits - before.totals.hits };
}

test("presenter mode runs start to end with the keyboard alone, quoting live figures", async ({ page, request }) => {
  test.setTimeout(180_000);
  await page.setViewportSize(FULL_HD);
  // Scripts of the first load: none of the story may be in them.
  const firstLoadScripts: Promise<string>[] = [];
  const onScript = (res: Response) => {
    if (res.request().resourceType() === "script") firstLoadScripts.push(res.text().catch(() => ""));
  };
  page.on("response", onScript);
  const dashboard = new DashboardPage(page);
  const presenter = new PresenterMode(page);
  await dashboard.open();
  await dashboard.expectConnected();
  page.off("response", onScript);
  const scripts = await Promise.all(firstLoadScripts);
  expect(scripts.length).toBeGreaterThan(0);
  expect(scripts.some((s) => s.includes(STEP_TITLES.why))).toBe(false);
  await expect(presenter.dialog).toHaveCount(0);

  const before = await fetchStats(request);
  const valkeyViews: unknown[] = [];
  page.on("response", (res) => {
    if (res.url().endsWith("/api/valkey") && res.ok()) valkeyViews.push(res.json().catch(() => null));
  });

  // Open: keyboard focus on the button, Enter. Focus moves into the dialog.
  await presenter.openWithKeyboard();
  await expect(presenter.dialog).toHaveAttribute("aria-modal", "true");
  await expect(presenter.caption).toHaveAttribute("aria-live", "polite");
  expect(await presenter.focusInside()).toBe(true);

  // 1. A quiet start: the totals /api/stats has.
  await presenter.expectStep("quiet");
  expect(await presenter.figureText()).toBe(formatCount(before.totals.requests));
  await presenter.screenshot("quiet", FULL_HD);
  // Focus is trapped: Tab and Shift+Tab never leave the dialog.
  for (let i = 0; i < 8; i++) {
    await presenter.press("Tab");
    expect(await presenter.focusInside()).toBe(true);
  }
  await page.keyboard.press("Shift+Tab");
  expect(await presenter.focusInside()).toBe(true);

  // 2. One client's burst, cut at its limit: the run's own summary, and /api/stats's blocked count agrees.
  await presenter.press("ArrowRight");
  await presenter.expectStep("burst");
  const afterBurst = await fetchStats(request);
  const burst = runBetween(before, afterBurst);
  expect(burst).toMatchObject({ total: 50, successful: 10, blocked: 40 });
  expect(await presenter.figureText()).toBe(`${burst.successful} of ${burst.total}`);
  expect(await presenter.captionText()).toContain(
    `${burst.successful} of ${burst.total} admitted, ${burst.blocked} refused with a 429: the limit is ${afterBurst.rateLimit.anonymousPolicy.limit} a minute.`,
  );
  await presenter.screenshot("burst", FULL_HD);

  // 3. Many clients: callers of the last minute and the top consumers, as /api/stats has them.
  await presenter.press("ArrowRight");
  await presenter.expectStep("many");
  const afterMany = await fetchStats(request);
  const many = runBetween(afterBurst, afterMany);
  expect(await presenter.figureText()).toBe(formatCount(afterMany.rateLimit.totalKeys));
  const caption3 = await presenter.captionText();
  expect(caption3).toContain(`20 clients sent ${many.total} requests: ${many.successful} admitted`);
  const top = afterMany.rateLimit.topConsumers[0]!;
  expect(caption3).toContain(`sim-${top.identity.split(":")[2]} (${formatCount(top.requests)}`);
  await presenter.screenshot("many", FULL_HD);

  // 4. Repeated questions: the tokens, time and money saved equal /api/stats's at this moment.
  await presenter.press("ArrowRight");
  await presenter.expectStep("cache");
  const afterCache = await fetchStats(request);
  const cached = runBetween(afterMany, afterCache);
  expect(await presenter.captionText()).toContain(`${cached.total} times: ${cached.cached} answered from the cache`);
  expect(cached.cached).toBeGreaterThan(90);
  expect(await presenter.figureText()).toBe(formatCount(afterCache.cache.tokensSaved));
  expect(await presenter.captionText()).toContain(
    `${formatCount(afterCache.cache.tokensSaved)} tokens, ${formatMs(afterCache.cache.timeSavedMs)} of model time and ${formatCost(afterCache.cache.costSaved)}`,
  );
  await presenter.screenshot("cache", FULL_HD);

  // Space pauses: the step stays past its dwell; space again resumes.
  await presenter.press("Space");
  await expect(presenter.dialog).toHaveAttribute("data-paused", "true");
  await expect(presenter.status).toHaveText(/Paused/);
  await page.waitForTimeout(1500);
  await expect(presenter.dialog).toHaveAttribute("data-step", "cache");
  await presenter.press("Space");
  await expect(presenter.dialog).toHaveAttribute("data-paused", "false");
  await expect(presenter.status).toHaveText(/Next step in \d+ s/);

  // 5. Why was this blocked: a real refusal from /api/stats's activity, its policy, window use and reset.
  await presenter.press("ArrowRight");
  await presenter.expectStep("why");
  const afterWhy = await fetchStats(request);
  const eventId = await presenter.caption.getAttribute("data-event-id");
  const event = afterWhy.activity.find((e) => e.id === eventId);
  expect(event, `event ${eventId} in /api/stats's activity`).toBeDefined();
  expect(event!.type).toBe("blocked");
  expect(await presenter.figureText()).toBe(`${event!.inWindow} of ${event!.limit}`);
  const caption5 = await presenter.captionText();
  expect(caption5).toContain(`The “${event!.policy}” policy allows ${event!.limit} requests`);
  expect(caption5).toContain(`and ${event!.inWindow} are still in`);
  expect(caption5).toContain(`A slot frees up at ${formatClock(event!.resetAt)}`);
  await presenter.screenshot("why", FULL_HD);

  // 6. The lab's four limiters: the figure is the loosest one's most-in-a-window against the limit.
  const labAnswer = page.waitForResponse((res) => res.url().endsWith("/api/lab"));
  await presenter.press("ArrowRight");
  const lab = labResultSchema.parse(await (await labAnswer).json());
  await presenter.expectStep("lab");
  const loosest = Math.max(...lab.algorithms.map((a) => a.maxInAnyWindow));
  expect(await presenter.figureText()).toBe(`${loosest} vs ${lab.limit}`);
  const exact = lab.algorithms.find((a) => a.algorithm === "sliding-log")!;
  expect(await presenter.captionText()).toContain(`never let more than ${exact.maxInAnyWindow} through`);
  await presenter.screenshot("lab", FULL_HD);

  // 7. What Valkey did: µs per decision from the /api/valkey answer the step read last.
  const beforeAbuse = await fetchStats(request);
  await presenter.press("ArrowRight");
  await presenter.expectStep("valkey", 60_000);
  const afterAbuse = await fetchStats(request);
  const abuse = { total: afterAbuse.totals.requests - beforeAbuse.totals.requests };
  expect(abuse.total).toBe(1000);
  const views = valkeyViewsSchema.parse(await valkeyViews.at(-1));
  expect(views.commands.usecPerDecision).not.toBeNull();
  const usec = views.commands.usecPerDecision!;
  expect(await presenter.figureText()).toBe(`${usec < 10 ? usec.toFixed(1) : formatCount(Math.round(usec))} µs`);
  expect(await presenter.captionText()).toContain(`${formatCount(abuse.total)} requests from one abusive client`);
  expect(await presenter.captionText()).toContain(`${formatCount(views.commands.decisionsPerSec ?? 0)} decisions a second`);
  await presenter.screenshot("valkey", FULL_HD);
  // The last step stays: → does nothing, and nothing advances by itself.
  await presenter.press("ArrowRight");
  await expect(presenter.dialog).toHaveAttribute("data-step", "valkey");
  await expect(presenter.status).toHaveText(/The end/);
  await presenter.screenshot("valkey", LAPTOP);

  // ← goes back to what a step found, without sending its traffic again.
  let runsSent = 0;
  page.on("request", (req) => {
    if (req.url().endsWith("/api/simulate")) runsSent += 1;
  });
  for (const id of ["lab", "why", "cache"] as const) {
    await presenter.press("ArrowLeft");
    await presenter.expectStep(id);
  }
  expect(await presenter.figureText()).toBe(formatCount(afterCache.cache.tokensSaved));
  await presenter.press("Space"); // hold it still for the screenshot
  await presenter.screenshot("cache", LAPTOP);
  await presenter.press("ArrowLeft");
  await presenter.expectStep("many");
  await presenter.press("ArrowLeft");
  await presenter.expectStep("burst");
  await presenter.screenshot("burst", LAPTOP);
  expect(runsSent).toBe(0);

  // Esc leaves: the dialog is gone, focus is back on the button, the page scrolls again.
  await presenter.press("Escape");
  await expect(presenter.dialog).toHaveCount(0);
  await expect(presenter.button).toBeFocused();
  expect(await page.evaluate(() => document.documentElement.style.overflow)).toBe("");
  expect(new URL(page.url()).search).toBe("");
});

test("/?present opens it directly and loses ?present on exit; a refused run says so and offers to go on", async ({ page }) => {
  test.setTimeout(90_000);
  await page.setViewportSize(FULL_HD);
  // The dark theme this time (it follows the system's), as most projectors show it.
  await page.emulateMedia({ colorScheme: "dark" });
  const presenter = new PresenterMode(page);
  // The per-caller run limit, as the server words it (lib/gateway/simulate.ts): sending 20 real runs
  // first would refuse every later spec's simulator for a minute, so this one answer is stubbed.
  await page.route("**/api/simulate", (route) =>
    route.fulfill({
      status: 429,
      contentType: "application/json",
      headers: { "retry-after": "41" },
      body: JSON.stringify({
        error: "ip:127.0.0.1 has started 20 simulator runs in the last minute; try again in 41 s.",
        code: "rate_limited",
        retryAfterSeconds: 41,
        policy: "simulator",
        limit: 20,
      }),
    }),
  );
  await page.goto("/?present&tab=1");
  await presenter.expectStep("quiet");
  expect(await presenter.focusInside()).toBe(true);
  await presenter.screenshot("quiet-dark", FULL_HD);

  await presenter.press("ArrowRight");
  await expect(presenter.dialog).toHaveAttribute("data-status", "problem");
  await expect(presenter.problem).toContainText("The gateway refused this step's run");
  await expect(presenter.problem).toContainText("has started 20 simulator runs in the last minute");
  await expect(presenter.problem).toContainText("Try again after that, or continue");
  await expect(page.getByTestId("presenter-continue")).toBeVisible();
  // A problem does not advance by itself.
  await expect(presenter.status).toHaveText("Waiting for you");
  await presenter.screenshot("refused", FULL_HD);

  await page.unroute("**/api/simulate");
  // Continue from the keyboard (focus on it, Enter); focus stays in the dialog when the button goes.
  await page.getByTestId("presenter-continue").focus();
  await page.keyboard.press("Enter");
  await expect(presenter.dialog).toHaveAttribute("data-step", "many");
  expect(await presenter.focusInside()).toBe(true);
  await presenter.press("Escape");
  await expect(presenter.dialog).toHaveCount(0);
  await expect(presenter.button).toBeFocused();
  expect(new URL(page.url()).search).toBe("?tab=1");
});
