/**
 * The real bridge (no cluster) on a real redis-server that loses a pending sign-in (FLUSHALL)
 * while its client waits: at the deadline the client is halted with the reason, as when the
 * sign-in is still stored, not left for OpenVPN to drop without one.
 */
import { assertEquals } from "../../support/assert.ts";
import { BridgeHarness } from "../../support/bridge_harness.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";

Deno.test("bridge on Redis: a sign-in a FLUSHALL lost is halted as not completed in time at its deadline", async () => {
  const redis = await RedisServer.start();
  try {
    const h = await BridgeHarness.start({
      sessions: "redis",
      sessionsToml: `url = "${redis.url}"`,
      authPendingTimeout: "10s",
    });
    try {
      const mark = h.openvpn.received.length;
      await h.connect(0, { common_name: "alice", session_id: "s-lost" });
      const admin = await connectRedis(redisSettings(redis.url, "admin:"));
      try {
        await admin.flushall();
      } finally {
        admin.disconnect();
      }
      const halt = await h.waitForCommand(
        mark,
        (line) => line.startsWith("client-kill 0 "),
        15_000,
      );
      assertEquals(
        halt,
        'client-kill 0 "HALT,Sign-in was not completed in time. Reconnect to try again."',
      );
    } finally {
      await h.stop();
    }
  } finally {
    await redis.dispose();
  }
});
