import { expect, type Locator, type Page, type Response } from "@playwright/test";

/** The dashboard as a person sees it: what the e2e tests look for, in one place. */
export class DashboardPage {
  readonly badge: Locator;
  readonly traffic: Locator;
  readonly simulatorFire: Locator;
  readonly simulatorProgress: Locator;
  readonly activityItems: Locator;
  readonly doorSplit: Locator;
  readonly tryPrompt: Locator;
  readonly trySend: Locator;
  readonly tryCache: Locator;

  constructor(readonly page: Page) {
    this.badge = page.getByTestId("connection-badge");
    this.traffic = page.getByTestId("traffic-chart");
    this.simulatorFire = page.getByTestId("sim-fire");
    this.simulatorProgress = page.getByTestId("sim-progress");
    this.activityItems = page.getByTestId("activity-item");
    this.doorSplit = page.getByTestId("door-split");
    this.tryPrompt = page.getByTestId("try-prompt");
    this.trySend = page.getByTestId("try-send");
    this.tryCache = page.getByTestId("try-cache");
  }

  async open(): Promise<Response | null> {
    const response = await this.page.goto("/");
    await expect(this.page.getByRole("heading", { name: "Flowgate", level: 1 })).toBeVisible();
    await this.lookOver();
    return response;
  }

  /**
   * Scrolls to the bottom and back, as a viewer looking the page over: the
   * panels below the first screen mount as they come into view (components/deferred.tsx).
   */
  async lookOver(): Promise<void> {
    await this.page.evaluate(async () => {
      const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 40)));
      for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight / 2) {
        window.scrollTo(0, y);
        await frame();
      }
      window.scrollTo(0, 0);
    });
    await expect(this.page.locator('[data-deferred="waiting"]')).toHaveCount(0);
    // …and their code has arrived: no panel is still a loading skeleton.
    await expect(this.page.locator("[data-panel-loading]")).toHaveCount(0);
  }

  async expectConnected(): Promise<void> {
    await expect(this.badge).toHaveAttribute("data-state", "connected");
  }

  /** A stat card's headline value as a number ("1,234" → 1234). */
  async cardNumber(testId: string): Promise<number> {
    const text = await this.page.getByTestId(`${testId}-value`).innerText();
    return Number(text.replace(/[^0-9.]/g, ""));
  }

  /** Requests the door split counts for one door; 0 while it shows its empty state. */
  async doorCount(door: "generate" | "openai"): Promise<number> {
    const value = this.doorSplit.getByTestId(`door-split-${door}-value`);
    const empty = this.doorSplit.getByTestId("door-split-empty");
    await expect(value.or(empty)).toBeVisible();
    return (await empty.isVisible()) ? 0 : Number((await value.innerText()).replace(/[^0-9]/g, ""));
  }

  /** The feed's rows of one door, newest first. */
  activityByDoor(door: "generate" | "openai"): Locator {
    return this.page.locator(`[data-testid="activity-item"][data-door="${door}"]`);
  }

  async choosePreset(name: string): Promise<void> {
    await this.page.getByRole("radio", { name }).click();
  }

  async fireSimulator(): Promise<void> {
    await this.simulatorFire.click();
  }

  /** Fires the chosen preset and waits for the run to finish. */
  async runSimulator(): Promise<void> {
    await this.simulatorFire.scrollIntoViewIfNeeded();
    await this.fireSimulator();
    await expect(this.simulatorProgress).toHaveAttribute("aria-valuenow", "100", { timeout: 45_000 });
    await expect(this.simulatorFire).toBeEnabled();
  }

  /** The header's theme switch: "System" follows the OS. */
  async chooseTheme(name: "System" | "Light" | "Dark"): Promise<void> {
    await this.page.getByRole("button", { name: `${name} theme` }).click();
  }

  async summaryNumber(testId: "sim-successful" | "sim-cached" | "sim-blocked" | "sim-failed"): Promise<number> {
    return Number((await this.page.getByTestId(testId).innerText()).replace(/[^0-9]/g, ""));
  }

  async tryPromptOnce(prompt: string): Promise<string> {
    await this.tryPrompt.fill(prompt);
    // Wait for this request's answer: right after the click the button may not have left "Send"
    // yet, and the badge would still show the previous answer.
    const answered = this.page.waitForResponse((res) => res.url().endsWith("/api/generate") && res.request().method() === "POST");
    await this.trySend.click();
    await answered;
    await expect(this.trySend).toHaveText("Send");
    return (await this.tryCache.innerText()).trim();
  }
}
