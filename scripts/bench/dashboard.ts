/**
 * Dashboard: the JavaScript the page makes the browser download (every
 * script response of a cold load, gzip-compressed here at the default level,
 * as a server or CDN would send it), and the time from navigation start to
 * the first drawn traffic chart, in Debian's Chromium, over cold loads
 * (a new browser context each). Traffic has been sent before, so the chart
 * has bars to draw rather than its empty state.
 */
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../tests/support/chromium";
import { gzipSync } from "node:zlib";
import { chromium } from "@playwright/test";
import { median } from "../lib/percentiles";
import { log } from "./support";

export interface DashboardResult {
  scripts: number;
  jsBytes: number;
  jsGzipBytes: number;
  /** Script files named in the HTML the server sends (the rest are loaded by them). */
  scriptTagsInHtml: number;
  loads: number;
  /** ms from navigation start to the first svg.recharts-surface in the traffic chart. */
  firstChartMs: number[];
  firstChartMedianMs: number;
}

const CHART = '[data-testid="traffic-chart"] svg.recharts-surface';

export async function measureDashboard(appUrl: string, opts: { loads: number }): Promise<DashboardResult> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const html = await (await fetch(`${appUrl}/`)).text();
  const scriptTagsInHtml = new Set([...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1])).size;

  const times: number[] = [];
  const scripts = new Map<string, Buffer>();
  try {
    for (let i = 0; i < opts.loads; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      // Record, in the page's own clock, when the chart's svg first exists. A string, not a
      // function: tsx would wrap a function's inner names in a helper the page does not have.
      await page.addInitScript(`
        new MutationObserver(() => {
          if (window.__firstChart === undefined && document.querySelector(${JSON.stringify(CHART)})) {
            window.__firstChart = performance.now();
          }
        }).observe(document, { childList: true, subtree: true });
      `);
      const pending: Promise<void>[] = [];
      if (i === 0) {
        page.on("response", (res) => {
          if (res.request().resourceType() !== "script") return;
          pending.push(
            res
              .body()
              .then((body) => {
                scripts.set(res.url(), body);
              })
              .catch(() => {}),
          );
        });
      }
      await page.goto(`${appUrl}/`);
      await page.waitForSelector(CHART, { state: "attached", timeout: 30_000 });
      const at = await page.evaluate(() => (window as unknown as { __firstChart?: number }).__firstChart ?? Number.NaN);
      times.push(at);
      await Promise.all(pending);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  let jsBytes = 0;
  let jsGzipBytes = 0;
  for (const body of scripts.values()) {
    jsBytes += body.length;
    jsGzipBytes += gzipSync(body).length;
  }
  log(`dashboard: ${scripts.size} scripts, ${(jsGzipBytes / 1024).toFixed(0)} KiB gzip; first chart ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
  return {
    scripts: scripts.size,
    jsBytes,
    jsGzipBytes,
    scriptTagsInHtml,
    loads: opts.loads,
    firstChartMs: times.map((t) => Math.round(t)),
    firstChartMedianMs: Math.round(median(times)),
  };
}
