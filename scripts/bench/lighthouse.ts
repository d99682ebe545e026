/**
 * Lighthouse 12.2.3 (pinned: scores move between versions) on the production
 * build's dashboard, with its mobile preset (simulated slow 4G and a 4× slower
 * CPU) and its desktop preset, in Debian's Chromium (CHROME_PATH). Each preset
 * runs `runs` times in a fresh browser; the run with the median score is kept,
 * as Lighthouse's docs advise for a noisy machine. Each run waits (at most a
 * minute) for the machine to be at rest first: Lighthouse scores the lengths
 * of the tasks in its own trace, and the phases before this one leave two
 * cores busy for a while after they end. Traffic has been sent
 * before, so the page draws its charts rather than its empty states.
 *
 * Beside the dashboard, interleaved with it, the same runs on /bench/floor:
 * a page of the same build with no client component. Its score is what
 * Next.js itself costs on this machine, the floor the dashboard is read
 * against (on a loaded 2-core machine, the floor's mobile TBT alone can pass
 * 200 ms).
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { Result } from "lighthouse";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../tests/support/chromium";
import { ROOT, log, waitForQuiet } from "./support";

export interface LighthouseRun {
  /** 0-100. */
  performance: number;
  /** ms */
  totalBlockingTime: number;
  largestContentfulPaint: number;
  firstContentfulPaint: number;
  speedIndex: number;
  cumulativeLayoutShift: number;
  /** ms of main-thread work. */
  mainThreadWork: number;
  /** bytes of JavaScript Lighthouse finds unused. */
  unusedJavaScript: number;
  /** bytes transferred, all resources. */
  totalBytes: number;
  domNodes: number;
}

export interface LighthouseResult {
  version: string;
  runs: number;
  mobile: LighthouseRun;
  desktop: LighthouseRun;
  /** The machine's busy CPU share (0-1, all processes) in the second before each dashboard run, in order. */
  cpuBusyBefore: number[];
  /** Every run's score, in order, to show the spread. */
  mobileScores: number[];
  desktopScores: number[];
  /** The same, on the framework's floor page (/bench/floor). */
  floor: { mobile: LighthouseRun; desktop: LighthouseRun; mobileScores: number[]; desktopScores: number[] };
}

type Lhr = Result;

function figures(lhr: Lhr): LighthouseRun {
  const audit = (id: string) => lhr.audits[id];
  const num = (id: string) => Math.round((audit(id)?.numericValue ?? Number.NaN) * 1000) / 1000;
  const details = audit("unused-javascript")?.details as { overallSavingsBytes?: number } | undefined;
  return {
    performance: Math.round((lhr.categories.performance?.score ?? 0) * 100),
    totalBlockingTime: num("total-blocking-time"),
    largestContentfulPaint: num("largest-contentful-paint"),
    firstContentfulPaint: num("first-contentful-paint"),
    speedIndex: num("speed-index"),
    cumulativeLayoutShift: num("cumulative-layout-shift"),
    mainThreadWork: num("mainthread-work-breakdown"),
    unusedJavaScript: details?.overallSavingsBytes ?? 0,
    totalBytes: num("total-byte-weight"),
    domNodes: num("dom-size"),
  };
}

const exec = promisify(execFile);

/** One run in a plain Node child (lighthouse-run.mjs says why). */
async function once(url: string, preset: "mobile" | "desktop"): Promise<{ run: LighthouseRun; version: string }> {
  const runner = path.join(ROOT, "scripts/bench/lighthouse-run.mjs");
  const chromium = process.env.CHROME_PATH ?? CHROMIUM_PATH;
  const { stdout } = await exec(process.execPath, [runner, url, preset, chromium, ...CHROMIUM_ARGS], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000,
  });
  const lhr = JSON.parse(stdout) as Lhr;
  if (lhr.runtimeError) throw new Error(`lighthouse: ${lhr.runtimeError.message}`);
  return { run: figures(lhr), version: lhr.lighthouseVersion };
}

function medianRun(runs: LighthouseRun[]): LighthouseRun {
  const sorted = [...runs].sort((a, b) => a.performance - b.performance);
  return sorted[Math.floor((sorted.length - 1) / 2)] as LighthouseRun;
}

export async function measureLighthouse(appUrl: string, opts: { runs: number }): Promise<LighthouseResult> {
  const pages = { dashboard: "/", floor: "/bench/floor" } as const;
  const runs = { dashboard: { mobile: [] as LighthouseRun[], desktop: [] as LighthouseRun[] }, floor: { mobile: [] as LighthouseRun[], desktop: [] as LighthouseRun[] } };
  let version = "";
  const cpuBusyBefore: number[] = [];
  // Interleaved, so a noisy minute on this shared machine lands on both presets and both pages.
  for (let i = 0; i < opts.runs; i++) {
    for (const preset of ["mobile", "desktop"] as const) {
      for (const page of ["dashboard", "floor"] as const) {
        const busy = await waitForQuiet();
        if (page === "dashboard") cpuBusyBefore.push(busy);
        const { run, version: v } = await once(`${appUrl}${pages[page]}`, preset);
        version = v;
        runs[page][preset].push(run);
        log(`lighthouse ${page} ${preset} ${i + 1}/${opts.runs} (machine ${Math.round(busy * 100)}% busy before it): performance ${run.performance}, TBT ${Math.round(run.totalBlockingTime)} ms, LCP ${Math.round(run.largestContentfulPaint)} ms`);
      }
    }
  }
  const scores = (list: LighthouseRun[]) => list.map((r) => r.performance);
  return {
    version,
    runs: opts.runs,
    cpuBusyBefore,
    mobile: medianRun(runs.dashboard.mobile),
    desktop: medianRun(runs.dashboard.desktop),
    mobileScores: scores(runs.dashboard.mobile),
    desktopScores: scores(runs.dashboard.desktop),
    floor: {
      mobile: medianRun(runs.floor.mobile),
      desktop: medianRun(runs.floor.desktop),
      mobileScores: scores(runs.floor.mobile),
      desktopScores: scores(runs.floor.desktop),
    },
  };
}
