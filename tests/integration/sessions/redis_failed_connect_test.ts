/**
 * A connectRedis() that fails leaves no client behind: one still reconnecting in the background
 * would knock at Redis every 2 s for as long as the process lives, and keep a command that
 * probes Redis (probeRedis) and then should exit from ever exiting.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { startLocalServer } from "../../support/fake_redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";

Deno.test("connectRedis() that fails at start stops its client: no reconnect follows", async () => {
  // A peer that takes each connection and closes it at once: the start fails at the first.
  const peer = startLocalServer((conn) => conn.close());
  const settings = redisSettings(peer.url, "failed-connect-test:");
  try {
    await assertRejects(() => connectRedis(settings, 3_000), StoreUnavailableError);
    const afterFailure = peer.connections;
    // The client's reconnects would come 100 ms, then 200 ms more, after the failure.
    await new Promise((resolve) => setTimeout(resolve, 400));
    assertEquals(peer.connections, afterFailure, "connections made after connectRedis() failed");
  } finally {
    await peer.close();
  }
});
