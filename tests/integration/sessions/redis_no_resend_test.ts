/**
 * A command cut off by a dropped connection fails, and is never sent again on the next one
 * (redis_connection.ts, failure model): its caller was told it failed, and a re-sent take of a
 * pending login or a re-sent delete would then run behind that caller's back. A fake server, so
 * that the drop falls exactly between a command's arrival and its answer.
 */
import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { redisSettings } from "../../support/redis_settings.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { startFakeRedis } from "../../support/fake_redis_server.ts";

/**
 * Answers the handshake; closes the first connection at its first other command, unanswered,
 * and answers "+OK" to every command on later ones, which `afterDrop` records.
 */
function startDroppingRedis() {
  const fake = Object.assign(
    startFakeRedis(async (args, peer) => {
      if (peer.ordinal === 1) return peer.close();
      fake.afterDrop.push(args);
      await peer.reply("+OK\r\n");
    }),
    { afterDrop: [] as string[][] },
  );
  return fake;
}

Deno.test("connectRedis(): a command cut off by a dropped connection fails and is not sent again after the reconnect", async () => {
  const fake = startDroppingRedis();
  const client = await connectRedis(redisSettings(fake.url, "no-resend-test:"), 3_000);
  try {
    await assertRejects(() => client.del("taken-once"));
    // Reconnected (retryStrategy: 100 ms after the first attempt), with time for a resend.
    for (let waited = 0; client.status !== "ready" || fake.connections < 2; waited += 10) {
      assert(waited < 3_000, `no reconnect: ${client.status}, ${fake.connections} connection(s)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(await client.set("after", "1"), "OK");
    assertEquals(fake.afterDrop, [["set", "after", "1"]], "only the call made after the drop");
  } finally {
    client.disconnect();
    await fake.close();
  }
});
