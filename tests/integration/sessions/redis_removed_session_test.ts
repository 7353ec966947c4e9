/**
 * What deleteSession() hands back from Redis is checked like any input read from it: whoever can
 * write to Redis must not get the bridge to kill a client it names badly, nor to revoke a token
 * that belongs to another session.
 */
import { assertEquals } from "../../support/assert.ts";
import { connectRedis } from "../../../src/sessions/redis_connection.ts";
import { RedisStore } from "../../../src/sessions/redis_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";
import { RedisServer } from "../../support/redis_server.ts";

const PREFIX = "removed-test:";

Deno.test("RedisStore.deleteSession() names no client for a cid in Redis that is no client id", async () => {
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
      cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(5)),
      maxEntries: 100,
      now: () => T0,
      description: server.url,
    });
    try {
      const cases: Array<[string, string]> = [["neg", "-1"], ["frac", "1.5"], ["text", "x"]];
      for (const [id, stored] of cases) {
        await store.putSession(session({ sessionId: id, cid: 4, refreshToken: `token-${id}` }));
        await client.hset(`${PREFIX}s:${id}`, "cid", stored);
        const removed = await store.deleteSession(id);
        assertEquals(removed?.cid, undefined, `cid "${stored}" in Redis`);
        assertEquals(removed?.refreshToken, `token-${id}`);
      }
      // A real one is handed back as it is.
      await store.putSession(session({ sessionId: "ok", cid: 0 }));
      assertEquals((await store.deleteSession("ok"))?.cid, 0);
    } finally {
      await store.close();
    }
  } finally {
    await server.dispose();
  }
});
