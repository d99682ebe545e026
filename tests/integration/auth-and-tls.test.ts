import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateResponseSchema, statsSchema } from "@/lib/schemas";
import { generateRequest, loadApp, type LoadedApp } from "../support/app";
import { freePort, startValkey, type TestValkey } from "../support/valkey-server";

/** VALKEY_URL with a password, over TLS, and with the wrong password. */

const PASSWORD = "s3cret-pass";
let valkey: TestValkey;
let tlsPort: number;
let certDir: string;

beforeAll(async () => {
  certDir = mkdtempSync(path.join(tmpdir(), "flowgate-tls-"));
  // A self-signed certificate for 127.0.0.1, acting as its own CA.
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
    "-keyout", path.join(certDir, "key.pem"), "-out", path.join(certDir, "cert.pem"),
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore" });
  tlsPort = await freePort();
  valkey = await startValkey({
    password: PASSWORD,
    extraArgs: [
      "--tls-port", String(tlsPort),
      "--tls-cert-file", path.join(certDir, "cert.pem"),
      "--tls-key-file", path.join(certDir, "key.pem"),
      "--tls-ca-cert-file", path.join(certDir, "cert.pem"),
      "--tls-auth-clients", "no",
    ],
  });
});
afterAll(() => valkey.stop());

async function connectionsReceived(): Promise<number> {
  const admin = new Redis({ port: valkey.port, host: "127.0.0.1", password: PASSWORD });
  try {
    return Number(/total_connections_received:(\d+)/.exec(await admin.info("stats"))?.[1]);
  } finally {
    admin.disconnect();
  }
}

describe("Valkey credentials and TLS", () => {
  let app: LoadedApp;
  afterAll(() => app?.close());

  it("works with a password in VALKEY_URL", async () => {
    app = await loadApp({ VALKEY_URL: `redis://:${PASSWORD}@127.0.0.1:${valkey.port}` });
    const res = await app.generate.POST(generateRequest("with a password"));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-cache")).toBe("MISS");
  });

  it("works over TLS (rediss://) with a private CA and a password", async () => {
    await app?.close();
    app = await loadApp({
      VALKEY_URL: `rediss://:${PASSWORD}@127.0.0.1:${tlsPort}`,
      VALKEY_TLS_CA_FILE: path.join(certDir, "cert.pem"),
    });
    const res = await app.generate.POST(generateRequest("over tls"));
    expect(res.status).toBe(200);
    generateResponseSchema.parse(await res.json());
    const stats = statsSchema.parse(await (await app.stats.GET()).json());
    expect(stats.connected).toBe(true);
    expect(stats.totals.requests).toBe(1);
  });

  it("a wrong password gives a clear error and no retry storm", async () => {
    await app?.close();
    app = await loadApp({ VALKEY_URL: `redis://:not-the-password@127.0.0.1:${valkey.port}`, FAIL_MODE: "closed" });
    const before = await connectionsReceived();
    const first = await app.generate.POST(generateRequest("wrong password"));
    expect(first.status).toBe(503);
    // Give a retry storm time to show: ioredis would reconnect every ≤ 1 s.
    await new Promise((r) => setTimeout(r, 3000));
    const stats = statsSchema.parse(await (await app.stats.GET()).json());
    expect(stats.connected).toBe(false);
    expect(stats.error).toContain("rejected the credentials in VALKEY_URL");
    const again = await app.generate.POST(generateRequest("still wrong"));
    expect(again.status).toBe(503);
    expect(((await again.json()) as { error: string }).error).toContain("fix VALKEY_URL");
    const after = await connectionsReceived();
    // Our one failed connection, plus the counting connections themselves.
    expect(after - before).toBeLessThanOrEqual(2);
  });
});
