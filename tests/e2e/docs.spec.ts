import { expect, test, type Page } from "@playwright/test";
import { DashboardPage } from "./pages/dashboard";

/**
 * /docs renders GET /api/openapi.json with Scalar's API reference, from the
 * bundle alone (no CDN, no web fonts: this machine has no internet), under the
 * page's nonce CSP, with a quiet console. The dashboard never loads its code.
 */

/** What the page did that a person would not see: console errors, CSP violations, requests off this origin. */
function watch(page: Page, origin: string) {
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("blob:")) foreign.push(url);
  });
  return { problems, foreign };
}

async function collectCspViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

const cspViolations = (page: Page) => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

/** A mark only Scalar's code carries: the class of its app's root. */
const SCALAR_MARK = "scalar-app";

test("/docs lists every operation of the document, offline, with no console error and no CSP violation", async ({ page, baseURL }) => {
  await collectCspViolations(page);
  const { problems, foreign } = watch(page, baseURL!);
  const documentSeen = page.waitForResponse((res) => new URL(res.url()).pathname === "/api/openapi.json" && res.status() === 200);
  const response = await page.goto("/docs");
  expect(response!.status()).toBe(200);
  const csp = response!.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'(;|$)/);
  expect(csp).not.toContain("unsafe-eval");

  // The reference asked this server for the document, past the /api/[...path] catch-all.
  const served = await (await documentSeen).json();
  expect(served.openapi).toMatch(/^3\.1\./);

  const reference = page.getByTestId("api-reference");
  await expect(reference.locator(`.${SCALAR_MARK}`).first()).toBeAttached({ timeout: 30_000 });
  await expect(reference.getByText("/v1/chat/completions").first()).toBeVisible({ timeout: 30_000 });

  // Every operation of the document is listed by its summary (the sidebar opens every tag it can).
  const operations = Object.values(served.paths as Record<string, Record<string, { summary?: string }>>).flatMap((item) =>
    Object.values(item).filter((op): op is { summary: string } => typeof op?.summary === "string"),
  );
  expect(operations.length).toBeGreaterThanOrEqual(12);
  for (const tag of served.tags as { name: string }[]) {
    await expect(reference.getByText(tag.name, { exact: true }).first()).toBeVisible();
  }
  const search = await page.evaluate(() => document.body.innerText);
  const missing = operations.filter((op) => !search.includes(op.summary)).map((op) => op.summary);
  expect(missing, "operations not shown on /docs").toEqual([]);

  // An operation opens with its request and its answers.
  await reference.getByText("Create a chat completion").first().click();
  await expect(reference.getByRole("heading", { name: "Create a chat completion" }).first()).toBeInViewport();
  await expect(reference.getByText("ChatCompletionRequest").first()).toBeAttached();
  await page.screenshot({ path: test.info().outputPath("docs.png"), fullPage: false });
  expect(await cspViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
});

test("the dashboard's scripts and stylesheets carry none of the reference's code, even with every panel mounted", async ({ page }) => {
  const bodies: Promise<string>[] = [];
  page.on("response", (res) => {
    const type = res.request().resourceType();
    if (type === "script" || type === "stylesheet") bodies.push(res.text().catch(() => ""));
  });
  await new DashboardPage(page).open();
  const loaded = await Promise.all(bodies);
  expect(loaded.length).toBeGreaterThan(3);
  expect(loaded.filter((text) => text.includes(SCALAR_MARK))).toHaveLength(0);
});
