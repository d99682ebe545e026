import { expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import type { StepId } from "@/lib/dashboard/presenter";
import { statsSchema, type Stats } from "@/lib/schemas";

/** Presenter mode as a person sees it, driven by the keyboard alone. */
export class PresenterMode {
  readonly button: Locator;
  readonly dialog: Locator;
  readonly caption: Locator;
  readonly figure: Locator;
  readonly text: Locator;
  readonly status: Locator;
  readonly problem: Locator;

  constructor(readonly page: Page) {
    this.button = page.getByTestId("present-button");
    this.dialog = page.getByRole("dialog", { name: "Flowgate, live" });
    this.caption = page.getByTestId("presenter-caption");
    this.figure = page.getByTestId("presenter-figure");
    this.text = page.getByTestId("presenter-text");
    this.status = page.getByTestId("presenter-status");
    this.problem = page.getByTestId("presenter-problem");
  }

  /** Tabs from the top of the page to the Present button (no click), as a keyboard user would. */
  async tabToButton(): Promise<void> {
    await this.page.locator("body").focus();
    for (let i = 0; i < 15; i++) {
      await this.page.keyboard.press("Tab");
      if (await this.button.evaluate((el) => el === document.activeElement)) return;
    }
    throw new Error("Tab never reached the Present button");
  }

  async openWithKeyboard(): Promise<void> {
    await this.tabToButton();
    await expect(this.button).toBeFocused();
    await this.page.keyboard.press("Enter");
    await expect(this.dialog).toBeVisible();
  }

  /** Waits until step `id` shows its caption (its traffic finished). */
  async expectStep(id: StepId, timeout = 30_000): Promise<void> {
    await expect(this.dialog).toHaveAttribute("data-step", id, { timeout });
    await expect(this.dialog).toHaveAttribute("data-status", "ready", { timeout });
  }

  async press(key: "ArrowRight" | "ArrowLeft" | "Space" | "Escape" | "Tab"): Promise<void> {
    await this.page.keyboard.press(key);
  }

  async figureText(): Promise<string> {
    return (await this.figure.innerText()).trim();
  }

  async captionText(): Promise<string> {
    return (await this.text.innerText()).trim();
  }

  /** True when the focused element is inside the dialog (or is it). */
  async focusInside(): Promise<boolean> {
    return this.page.evaluate(() => Boolean(document.activeElement?.closest('[role="dialog"]')));
  }

  async screenshot(name: string, viewport: { width: number; height: number }): Promise<void> {
    await this.page.setViewportSize(viewport);
    await this.page.screenshot({ path: `test-results/screenshots/presenter-${name}-${viewport.width}.png`, animations: "disabled" });
  }
}

export async function fetchStats(request: APIRequestContext): Promise<Stats> {
  const res = await request.get("/api/stats");
  expect(res.ok()).toBe(true);
  const stats = statsSchema.parse(await res.json());
  expect(stats.connected, `/api/stats: ${stats.error ?? ""}`).toBe(true);
  return stats;
}
