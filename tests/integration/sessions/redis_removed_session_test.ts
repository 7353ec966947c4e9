/**
 * What deleteSession() hands back from Redis is checked like any input read from it: whoever can
 * write to Redis must not get the bridge to kill a client it names badly, nor to revoke a token
 * that belongs to another session.
 */
import { assertEquals } from "../../support/assert.ts";
import { withRedisStore } from "../../support/redis_store_fixture.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PREFIX = "removed-test:";

Deno.test("RedisStore.deleteSession() names no client for a cid in Redis that is no client id", () =>
  withRedisStore({ keyPrefix: PREFIX, now: () => T0 }, async ({ store, client }) => {
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
  }));
