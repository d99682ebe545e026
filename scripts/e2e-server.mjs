// The end-to-end suite's web server: a private Valkey on a free port plus the
// built app (server.mjs) pointed at it. Playwright starts this as its
// webServer; the tests read test-results/e2e-valkey.json to stop and restart
// that Valkey (outage tests) without touching anything else on the machine.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const stateFile = path.join(root, "test-results", "e2e-valkey.json");

function findBinary() {
  if (process.env.FLOWGATE_VALKEY_SERVER) return process.env.FLOWGATE_VALKEY_SERVER;
  for (const name of ["valkey-server", "redis-server"]) {
    const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  throw new Error("no valkey-server or redis-server on PATH; run `npm test`, which installs one");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const binary = findBinary();
const valkeyPort = await freePort();
const dir = mkdtempSync(path.join(tmpdir(), "flowgate-e2e-"));
const args = ["--port", String(valkeyPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
const valkey = spawn(binary, args, { stdio: "ignore" });
mkdirSync(path.dirname(stateFile), { recursive: true });
writeFileSync(stateFile, JSON.stringify({ binary, args, port: valkeyPort, pid: valkey.pid }));

const app = spawn(process.execPath, ["server.mjs"], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    NODE_ENV: "production",
    // The demo as `npm run demo` serves it (whole addresses on the dashboard).
    FLOWGATE_DEMO: process.env.FLOWGATE_DEMO ?? "true",
    VALKEY_URL: `redis://127.0.0.1:${valkeyPort}`,
    PORT: process.env.PORT ?? "3100",
    HOST: "127.0.0.1",
    SIMULATED_LATENCY_MS: process.env.SIMULATED_LATENCY_MS ?? "300",
  },
});

const stop = () => {
  app.kill("SIGTERM");
  try {
    // The tests may have replaced the first Valkey with a restarted one.
    const { pid } = JSON.parse(String(spawnSync("cat", [stateFile]).stdout));
    process.kill(pid, "SIGKILL");
  } catch {}
  valkey.kill("SIGKILL");
};
process.on("SIGTERM", () => { stop(); process.exit(0); });
process.on("SIGINT", () => { stop(); process.exit(0); });
process.on("exit", stop);
app.on("exit", (code) => { stop(); process.exit(code ?? 1); });
