import { expect, test, type Locator, type Page } from "@playwright/test";
import { DashboardPage } from "./pages/dashboard";

/**
 * "Valkey under the hood": after a simulator run the section shows real
 * numbers read from the e2e suite's own Valkey, at desktop width and on a
 * 360 px phone, and keeps a screenshot of each.
 */

// One server, one Valkey, tests in order: the phone test reads what the desktop test's run left.
test.describe.configure({ mode: "serial" });

/** The section as a person sees it (next to DashboardPage, which it leaves alone). */
class ValkeyViewsSection {
  readonly root: Locator;
  readonly decisionCost: Locator;
  readonly memoryChart: Locator;
  readonly hotRows: Locator;
  readonly streamLength: Locator;
  readonly groupsEmpty: Locator;

  constructor(readonly page: Page) {
    this.root = page.getByTestId("valkey-under-the-hood");
    this.decisionCost = page.getByTestId("vk-decision-cost");
    this.memoryChart = page.getByTestId("vk-memory-chart");
    this.hotRows = page.getByTestId("vk-hot-row");
    this.streamLength = page.getByTestId("vk-stream-length");
    this.groupsEmpty = page.getByTestId("vk-groups-empty");
  }

  /** Scrolls the section into view (it polls only from then on) and waits for a live reading. */
  async reveal(): Promise<void> {
    await this.root.scrollIntoViewIfNeeded();
    await expect(this.page.getByRole("heading", { name: "Valkey under the hood", level: 2 })).toBeVisible();
    await expect(this.root).toHaveAttribute("data-state", "connected", { timeout: 20_000 });
  }

  async memoryPoints(): Promise<number> {
    return Number(await this.memoryChart.getAttribute("data-points"));
  }

  async streamEntries(): Promise<number> {
    return Number(await this.streamLength.getAttribute("data-length"));
  }

  /** µs per decision in the headline; null while it says there were none in the interval. */
  async decisionUsec(): Promise<number | null> {
    const value = await this.decisionCost.getAttribute("data-usec");
    return value ? Number(value) : null;
  }

  async screenshot(width: number): Promise<void> {
    // Charts load with next/dynamic: wait until they are drawn, not skeletons.
    await expect(this.memoryChart.locator("svg.recharts-surface")).toBeVisible();
    await this.root.screenshot({ path: `test-results/screenshots/valkey-under-the-hood-${width}.png`, animations: "disabled" });
  }
}

/** One admitted decision with a prompt the simulator's presets do not use: a plan with room for it. */
async function sendDecision(baseURL: string | undefined, n: number): Promise<void> {
  const res = await fetch(`${baseURL}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer demo-enterprise-key" },
    body: JSON.stringify({ prompt: `valkey views e2e ${n % 2}` }),
  });
  expect(res.status).toBe(200);
}

test.describe("at 1440 px", () => {
  test.use({ viewport: { width: 1440, height: 900 } });

  test("after a simulator run the section shows memory, the cost of a decision, hot prompts and the stream", async ({ page, baseURL }) => {
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(msg.text());
    });
    const dashboard = new DashboardPage(page);
    const section = new ValkeyViewsSection(page);
    await dashboard.open();
    await dashboard.expectConnected();
    // A first reading before the run, so the next one has an interval to compare against.
    await section.reveal();

    await dashboard.simulatorFire.scrollIntoViewIfNeeded();
    await dashboard.choosePreset("Cache warming");
    await dashboard.fireSimulator();
    await expect(dashboard.simulatorProgress).toHaveAttribute("aria-valuenow", "100", { timeout: 45_000 });
    await expect(dashboard.simulatorFire).toBeEnabled();

    await section.reveal();
    await expect.poll(() => section.streamEntries(), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect(section.hotRows.first()).toBeVisible({ timeout: 15_000 });
    await expect.poll(() => section.memoryPoints(), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect(section.memoryChart.locator("svg.recharts-surface")).toBeVisible();
    await expect(section.memoryChart.locator(".recharts-area, .recharts-dot").first()).toBeAttached();

    // The headline covers the last interval only: keep a decision in every interval until it has one.
    let n = 0;
    await expect
      .poll(
        async () => {
          await sendDecision(baseURL, n++);
          return section.decisionUsec();
        },
        { timeout: 30_000, intervals: [1000] },
      )
      .toBeGreaterThan(0);
    await expect(section.decisionCost).toContainText(/One decision costs Valkey [\d.,]+ µs/);

    // Each view names the Valkey commands behind it; states that say what to do.
    await expect(page.getByTestId("vk-memory-commands")).toContainText("MEMORY USAGE");
    await expect(page.getByTestId("vk-latency-commands")).toContainText("INFO commandstats");
    await expect(page.getByTestId("vk-cache-commands")).toContainText("ZMSCORE");
    await expect(page.getByTestId("vk-stream-commands")).toContainText("XINFO GROUPS");
    await expect(page.getByTestId("vk-cmd-row").first()).toBeVisible();
    await expect(section.groupsEmpty).toContainText("npm run export -- --out decisions.ndjson");
    await expect(page.getByTestId("vk-mem-max")).toHaveText("no limit");

    await section.screenshot(1440);
    expect(problems).toEqual([]);
  });
});

test("on a 360 px phone the section stacks, with no horizontal scrolling of the page", async ({ browser, baseURL }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const dashboard = new DashboardPage(page);
  const section = new ValkeyViewsSection(page);
  await dashboard.open();
  await section.reveal();
  await sendDecision(baseURL, 0);
  await expect.poll(() => section.streamEntries()).toBeGreaterThan(0);
  await expect(section.hotRows.first()).toBeVisible();
  await expect.poll(() => section.memoryPoints()).toBeGreaterThan(0);
  await expect(section.decisionCost).toBeVisible();
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
  // Wide tables scroll inside their own region, which a keyboard can reach.
  const table = page.getByTestId("vk-cmd-table");
  await expect(table).toHaveAttribute("tabindex", "0");
  await expect(table).toHaveAttribute("aria-label", /.+/);
  await section.screenshot(360);
  await context.close();
});

test("when /api/valkey fails the views say so instead of showing zeros", async ({ page }) => {
  await page.route("**/api/valkey", (route) =>
    route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ error: "Valkey is unavailable", code: "valkey_unavailable" }) }),
  );
  const dashboard = new DashboardPage(page);
  const section = new ValkeyViewsSection(page);
  await dashboard.open();
  await section.root.scrollIntoViewIfNeeded();
  await expect(section.root.getByRole("alert").first()).toContainText("Could not read /api/valkey");
  await expect(section.decisionCost).toHaveCount(0);
});
