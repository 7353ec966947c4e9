/**
 * RedisStore.exclusive frees its lock only while its own token still holds it
 * (compare-and-delete): a bridge whose lock ran out meanwhile (its work outlived the lock's
 * expiry) must not free the lock another bridge took since, which would let a third one in
 * beside it.
 */
import { assertEquals } from "../../support/assert.ts";
import { withRedisStore } from "../../support/redis_store_fixture.ts";

const PREFIX = "unlock:";

Deno.test("exclusive(): a lock another bridge holds by the time the work ends is left to it", async () => {
  await withRedisStore({ keyPrefix: PREFIX }, async ({ store, client }) => {
    const lockKey = await store.exclusive("max_per_user\0u-1", async () => {
      const keys = await client.keys(`${PREFIX}lk:*`);
      assertEquals(keys.length, 1);
      // Our lock ran out, and another bridge took it with its own token.
      await client.set(keys[0]!, "token-of-another-bridge", "PX", 60_000);
      return keys[0]!;
    });
    assertEquals(await client.get(lockKey), "token-of-another-bridge");
  });
});
