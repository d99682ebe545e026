import { randomBytes } from "node:crypto";
import { inject } from "vitest";

// Every test file gets the suite's server and its own key prefix, so files
// running side by side never see each other's keys.
process.env.VALKEY_URL = inject("valkeyUrl");
process.env.VALKEY_PREFIX = `t${randomBytes(4).toString("hex")}:`;
process.env.SIMULATED_LATENCY_MS = "0";
process.env.LOG_VALKEY_ERRORS = "false";
// Exactness under concurrency is tested with Valkey answering: on a starved 2-core
// machine 1,000 concurrent calls can outlast the 500 ms default and trip the
// breaker into its fail-open fallback. Tests of timeouts set their own.
process.env.VALKEY_COMMAND_TIMEOUT_MS = "5000";
