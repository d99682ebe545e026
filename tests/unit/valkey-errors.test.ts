import { ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import { GatewayError } from "@/lib/errors";
import { isValkeyUnavailable } from "@/lib/valkey/client";

/** A class as a production bundle leaves it: renamed, so only the message tells what it was. */
class s extends Error {}

describe("which errors mean Valkey is unusable (FAIL_MODE) and which are bugs (500)", () => {
  it("counts ioredis giving up, connection failures and a server that cannot serve", () => {
    for (const error of [
      new s('Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.'),
      new s("Command timed out"),
      new Error("Connection is closed."),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
      new ReplyError("LOADING Valkey is loading the dataset in memory"),
      new ReplyError("BUSY Valkey is busy running a script"),
      new GatewayError("valkey_unavailable", "Valkey is not reachable right now"),
    ]) {
      expect(isValkeyUnavailable(error), error.message).toBe(true);
    }
  });

  it("does not count a script's reply error, a type error or a missing file", () => {
    for (const error of [
      new ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
      new ReplyError("ERR user_script:12: Script attempted to access nonexistent global variable"),
      new TypeError("Cannot read properties of undefined (reading 'length')"),
      Object.assign(new Error("ENOENT: no such file or directory"), { code: "ENOENT" }),
      new GatewayError("invalid_body", "bad"),
      "a string",
    ]) {
      expect(isValkeyUnavailable(error), String(error)).toBe(false);
    }
  });
});
