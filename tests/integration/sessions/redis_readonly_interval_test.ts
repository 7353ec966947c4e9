/**
 * connectRedis()'s own interval between reconnects at READONLY: the README's 10 s ("at most
 * once every 10 s", and so the writes after a failover reach the new primary within 10 s). A
 * real redis-server demoted to a replica of nothing refuses every write; the monotonic clock the
 * throttle reads is moved by the test instead of waiting. The throttle itself, on a given
 * interval, is in tests/unit/sessions/readonly_reconnects_test.ts; behind a failover, in
 * tests/integration/bridge/redis_readonly_test.ts.
 */
import type { Redis } from "ioredis";
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { RedisServer } from "../../support/redis_server.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";

const KEY_PREFIX = "readonly-interval-test:";

/** A write refused with READONLY; then until the client is connected again, if it reconnects. */
async function refusedWrite(client: Redis): Promise<void> {
  await assertRejects(() => client.set(`${KEY_PREFIX}k`, "v"), Error, "READONLY");
  // ioredis reconnects after the reply (reconnectOnError); give it the moment to start.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const deadline = Date.now() + 3_000;
  while (client.status !== "ready") {
    if (Date.now() > deadline) throw new Error(`not connected again: ${client.status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("at READONLY, connectRedis() reconnects at most once every 10 s by default", async () => {
  const server = await RedisServer.start();
  const admin = await connectRedis(redisSettings(server.url, KEY_PREFIX), 3_000);
  const client = await connectRedis(redisSettings(server.url, KEY_PREFIX), 3_000);
  const realNow = performance.now.bind(performance);
  let skipped = 0;
  performance.now = () => realNow() + skipped;
  try {
    let reconnects = 0;
    client.on("reconnecting", () => reconnects++);
    await admin.call("REPLICAOF", "127.0.0.1", "1");

    await refusedWrite(client);
    assertEquals(reconnects, 1, "the first READONLY: a failover may have moved the address");
    // Within 10 s of that reconnect (a second of real time to spare): none.
    skipped += 9_000;
    await refusedWrite(client);
    assertEquals(reconnects, 1, "a reconnect within 10 s of the last");
    // 10 s after it: the next one.
    skipped += 1_000;
    await refusedWrite(client);
    assertEquals(reconnects, 2, "no reconnect 10 s after the last");
  } finally {
    performance.now = realNow;
    client.disconnect();
    admin.disconnect();
    await server.dispose();
  }
});
