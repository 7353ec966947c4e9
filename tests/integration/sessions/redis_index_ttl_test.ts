/**
 * RedisStore: an index shared by several entries (a user's, a subject's, an IdP session's, a
 * server's) lasts as long as the longest-lived of them. Written first by a short entry, its TTL
 * must grow when a longer one joins, else Redis drops the index while the longer entry still
 * needs it: its sign-out, revocation or unbinding would no longer find it.
 */
import { assert } from "../../support/assert.ts";
import { pendingLogin, session } from "../../unit/sessions/fixtures.ts";
import { withRedisStore } from "../../support/redis_store_fixture.ts";

const PREFIX = "index-ttl:";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

Deno.test("RedisStore: an index shared by a short and a long entry lasts as long as the long one", async () => {
  // Redis counts a TTL down in real time, so the store reads the real clock too.
  await withRedisStore({ keyPrefix: PREFIX, now: Date.now }, async ({ store, client }) => {
    const now = Date.now();
    // The same user, subject, IdP session and server; the short one written first.
    await store.putSession(session({ sessionId: "short", cid: 7, expiresAt: now + MINUTE }));
    await store.putSession(session({ sessionId: "long", cid: 8, expiresAt: now + 10 * HOUR }));
    await store.putPending(pendingLogin({ id: "p-short", expiresAt: now + MINUTE }));
    await store.putPending(pendingLogin({ id: "p-long", expiresAt: now + 10 * MINUTE }));
    const checks = [
      ["s:long", ["si:sso-1", "su:u-1", "sn:alice", "sc:vpn1", "sv:vpn1"]],
      ["p:p-long", ["pc:7:vpn1", "pv:vpn1"]],
    ] as const;
    for (const [entry, indexes] of checks) {
      const entryTtl = await client.pttl(`${PREFIX}${entry}`);
      for (const index of indexes) {
        const ttl = await client.pttl(`${PREFIX}${index}`);
        // Less the few milliseconds between the two reads.
        assert(ttl >= entryTtl - 1_000, `${index}: TTL ${ttl} ms, ${entry}'s ${entryTtl} ms`);
      }
    }
  });
});
