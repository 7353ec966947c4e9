/**
 * RedisStore.exclusive frees its lock only while its own token still holds it
 * (compare-and-delete): a bridge whose lock ran out meanwhile (its work outlived the lock's
 * expiry) must not free the lock another bridge took since, which would let a third one in
 * beside it.
 */
import { assertEquals } from "../../support/assert.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { RedisServer } from "../../support/redis_server.ts";

const PREFIX = "unlock:";

Deno.test("exclusive(): a lock another bridge holds by the time the work ends is left to it", async () => {
  const server = await RedisServer.start();
  try {
    const client = await connectRedis({
      url: server.url,
      username: undefined,
      password: undefined,
      keyPrefix: PREFIX,
      tlsCaFile: undefined,
      storeTimeoutMs: 2_000,
    });
    const store = await RedisStore.open({
      client,
      keyPrefix: PREFIX,
      cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
      maxEntries: 100,
      description: server.url,
    });
    try {
      const lockKey = await store.exclusive("max_per_user\0u-1", async () => {
        const keys = await client.keys(`${PREFIX}lk:*`);
        assertEquals(keys.length, 1);
        // Our lock ran out, and another bridge took it with its own token.
        await client.set(keys[0]!, "token-of-another-bridge", "PX", 60_000);
        return keys[0]!;
      });
      assertEquals(await client.get(lockKey), "token-of-another-bridge");
    } finally {
      await store.close();
      client.disconnect();
    }
  } finally {
    await server.dispose();
  }
});
