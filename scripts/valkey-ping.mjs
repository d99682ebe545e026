#!/usr/bin/env node
// Usage: node scripts/valkey-ping.mjs redis://[user:password@]host:port[/db]
//
// Exits 0 (printing nothing) if the Valkey/Redis server at the URL answers
// PING with PONG within about a second; otherwise prints a one-line reason to
// stderr and exits 1. rediss:// (TLS) and passwords are handled by ioredis.
import Redis from "ioredis";

const url = process.argv[2] ?? process.env.VALKEY_URL;

function redact(u) {
  try {
    const parsed = new URL(u);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return u;
  }
}

function fail(reason) {
  process.stderr.write(`valkey-ping: ${url ? redact(url) : "(no URL)"}: ${reason}\n`);
  process.exit(1);
}

if (!url) fail("usage: node scripts/valkey-ping.mjs redis://host:port");

let lastError;
const client = new Redis(url, {
  connectTimeout: 800,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
  enableReadyCheck: false,
  lazyConnect: true,
});
client.on("error", (err) => {
  lastError = err;
});

const timer = setTimeout(() => {
  fail(`no answer within 1000 ms${lastError ? ` (${lastError.message})` : ""}`);
}, 1000);

try {
  await client.connect();
  const reply = await client.ping();
  clearTimeout(timer);
  client.disconnect();
  if (reply !== "PONG") fail(`unexpected reply to PING: ${JSON.stringify(reply)}`);
  process.exit(0);
} catch (err) {
  clearTimeout(timer);
  client.disconnect();
  // ioredis rejects with "Connection is closed."; the error event has the cause.
  const reason = lastError?.message || err?.message || String(err);
  fail(reason);
}
