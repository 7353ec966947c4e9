/**
 * A real redis-server at its maxmemory under noeviction: the store's writes are refused with OOM
 * (store unavailable: fail closed) and write nothing. Redis 7 checks a script without a first
 * line (`#!lua`) for OOM only at its first command that may grow memory, and only when it wrote
 * nothing before; each put begins with a DEL or ZREM, so puts went on writing past the limit.
 * What only reads or removes still runs at OOM, as before: a delete, a logout, a sweep free
 * memory, and a Redis refusing them would keep sessions that were ended.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import type { Redis } from "ioredis";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { withRedisStore } from "../../support/redis_store_fixture.ts";
import { MINUTE, pendingLogin, session, T0 } from "../../unit/sessions/fixtures.ts";

/** Room for a few sessions past what Redis holds now. */
const HEADROOM_BYTES = 64 * 1024;
/** Far more sessions than fit in HEADROOM_BYTES (one takes some 3 KB), fewer than max_entries. */
const ATTEMPTS = 90;

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

async function assertOom(write: () => Promise<unknown>): Promise<void> {
  const error = await assertRejects(write);
  assert(error instanceof StoreUnavailableError, String(error));
  assertMatch(error.message, /OOM command not allowed/);
}

Deno.test("RedisStore: at maxmemory under noeviction, puts are refused with OOM and write nothing; reads and removals still run", async () => {
  const now = T0;
  await withRedisStore({ keyPrefix: "oom-test:", now: () => now }, async ({ store, client }) => {
    await store.putSession(session({ sessionId: "first", cid: 1 }));
    await store.putPending(pendingLogin({ id: "p-first", cid: 1 }));
    const limit = await usedMemory(client) + HEADROOM_BYTES;
    await client.call("CONFIG", "SET", "maxmemory", String(limit));
    try {
      let refusedAt = -1;
      for (let i = 0; i < ATTEMPTS && refusedAt < 0; i++) {
        try {
          await store.putSession(session({ sessionId: `s-${i}`, cid: 100 + i }));
        } catch (error) {
          assert(error instanceof StoreUnavailableError, String(error));
          refusedAt = i;
        }
      }
      assert(refusedAt > 0, `no put of ${ATTEMPTS} was refused: they wrote past maxmemory`);
      const keys = await client.dbsize();
      const used = await usedMemory(client);
      for (let i = 0; i < 3; i++) {
        await assertOom(() => store.putSession(session({ sessionId: `late-${i}`, cid: 500 + i })));
        await assertOom(() => store.putPending(pendingLogin({ id: `p-late-${i}`, cid: 500 + i })));
      }
      await assertOom(() => store.updateSession(session({ sessionId: "first", cid: 1 })));
      assertEquals(await client.dbsize(), keys, "nothing written once at the limit");
      assert(await usedMemory(client) <= used + 1024, "memory did not grow");

      // Reads (no-writes) and removals (allow-oom) run at OOM.
      assertEquals((await store.getSession("first"))?.sessionId, "first");
      assertEquals((await store.findSessionsBySubject(session().subject)).length, refusedAt + 1);
      assertEquals((await store.countLive("vpn1")).pending, 1);
      assertEquals((await store.takePending("p-first"))?.id, "p-first");
      assertEquals((await store.deleteSession("first"))?.cid, 1);
      assertEquals((await store.findSessionsBySubject(session().subject)).length, refusedAt);
      assertEquals(await store.sweep(now + 24 * 60 * MINUTE), { pending: 0, sessions: refusedAt });
      assert(await client.dbsize() < keys, "removals freed keys");
    } finally {
      await client.call("CONFIG", "SET", "maxmemory", "0");
    }
  });
});
