// One Lighthouse run, in plain Node: run under tsx, Lighthouse's page-side
// functions would carry esbuild's `__name` helper into the browser, where it
// does not exist. Usage: node scripts/bench/lighthouse-run.mjs <url> <mobile|desktop> <chromium> [flags…]
// Prints the report's JSON (lhr) on stdout.
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const [url, preset, chromePath, ...chromeFlags] = process.argv.slice(2);
const chrome = await chromeLauncher.launch({ chromePath, chromeFlags: ["--headless=new", ...chromeFlags] });
try {
  const result = await lighthouse(
    url,
    { port: chrome.port, output: "json", logLevel: "error", onlyCategories: ["performance"] },
    preset === "desktop" ? desktopConfig : undefined,
  );
  if (!result) throw new Error("lighthouse returned nothing");
  process.stdout.write(JSON.stringify(result.lhr));
} finally {
  await chrome.kill();
}
