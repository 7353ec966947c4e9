/**
 * RedisStore: a lookup by user, subject or IdP session drops from that index the ids whose entry
 * Redis expired on its own (no bridge swept it). Readers skip such ids, but left in the set they
 * pile up for as long as newer sessions keep the index alive: a user who signs in every day, with
 * every bridge down at night, would carry a month of dead ids in each lookup.
 */
import { assertEquals } from "../../support/assert.ts";
import { withRedisStore } from "../../support/redis_store_fixture.ts";
import { session, T0 } from "../../unit/sessions/fixtures.ts";

const PREFIX = "index-prune:";

Deno.test("RedisStore: a lookup in an index removes the ids of entries Redis expired unswept", () =>
  withRedisStore({ keyPrefix: PREFIX, now: () => T0 }, async ({ store, client }) => {
    await store.putSession(session({ sessionId: "gone", cid: 1 }));
    await store.putSession(session({ sessionId: "kept", cid: 2 }));
    // What Redis leaves when the entry's key ran out and no sweep followed: the key and its
    // expiry index entry are gone, the user's, subject's and IdP session's sets still name it.
    await client.del(`${PREFIX}s:gone`);
    await client.zrem(`${PREFIX}sz`, "gone");
    const lookups = [
      ["sn:alice", () => store.findSessionsByUsername("alice")],
      ["su:u-1", () => store.findSessionsBySubject("u-1")],
      ["si:sso-1", () => store.findSessionsBySid("sso-1")],
    ] as const;
    for (const [index, find] of lookups) {
      assertEquals((await find()).map((s) => s.sessionId), ["kept"], index);
      assertEquals(await client.smembers(`${PREFIX}${index}`), ["kept"], `${index} still names it`);
    }
  }));
