/**
 * The store's start against a real redis-server without an append-only file (Debian's
 * default: `appendonly no`, RDB save points): a revoke or logout deletes a session, and a Redis
 * that crashes before its next RDB save brings it back. The start says so once, with the fix;
 * with `appendonly yes` it says nothing.
 */
import { assertEquals } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { sessionsConfig } from "../../support/sessions_config.ts";
import { T0 } from "../../unit/sessions/fixtures.ts";

/** The warnings of one store's open and close on a redis-server with `appendonly`. */
async function startWarnings(appendonly: "yes" | "no"): Promise<string[]> {
  const server = await RedisServer.start({ extraArgs: ["--appendonly", appendonly] });
  const logs = captureLogs();
  try {
    const store = await openSessionStore(
      sessionsConfig({ backend: "redis", redis: redisSettings(server.url, "aof-test:") }),
      new Secret("http"),
      () => T0,
    );
    await store.close();
    return logs.lines.filter((line) => line.level === "warning").map((line) => line.text);
  } finally {
    logs.stop();
    await server.dispose();
  }
}

Deno.test("openSessionStore(): Redis with appendonly no opens with one warning naming the revocations a crash undoes and the fix", async () => {
  const warnings = await startWarnings("no");
  assertEquals(warnings.length, 1, warnings.join("\n"));
  const url = /^Session store (redis:\/\/127\.0\.0\.1:\d+\/0): /.exec(warnings[0]!)?.[1];
  assertEquals(
    warnings[0],
    `Session store ${url}: Redis keeps no append-only file (appendonly no): after a crash it ` +
      "loads its last RDB snapshot, if any, and sessions revoked or logged out since then are " +
      "back, their clients reconnecting without a browser; set appendonly yes and appendfsync " +
      "everysec in Redis's configuration (a crash then loses at most about 1 s of deletes)",
  );
});

Deno.test("openSessionStore(): Redis with appendonly yes opens without a warning", async () => {
  assertEquals(await startWarnings("yes"), []);
});
