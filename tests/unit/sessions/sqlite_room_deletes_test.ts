/**
 * The file store's room under max_entries after its own deletes: a delete through this store
 * changes no `PRAGMA data_version` of its own connection, so a full table is not counted again
 * (sqlite_room.ts) and only the store's report of what it removed gives the room back. Without
 * it, a bridge whose clients signed out stays "full" and refuses every new sign-in.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";

/** A store of `maxEntries` 2 in a fresh directory, removed after `body`. */
async function withFullableStore(body: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "room-deletes-test-" });
  const store = await SqliteStore.open({
    path: `${dir}/sessions.db`,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
    maxEntries: 2,
    now: () => T0,
  });
  try {
    await body(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deleteSession() gives its row's room back: the next sign-in fits, the one after does not", async () => {
  await withFullableStore(async (store) => {
    await store.putSession(session({ sessionId: "s1", cid: 1 }));
    await store.putSession(session({ sessionId: "s2", cid: 2 }));
    assertEquals((await store.deleteSession("s1"))?.cid, 1);
    await store.putSession(session({ sessionId: "s3", cid: 3 }));
    assertEquals((await store.getSession("s3"))?.cid, 3);
    await assertRejects(() => store.putSession(session({ sessionId: "s4" })), StoreFullError);
  });
});

Deno.test("takePending() and deletePending() give their row's room back", async () => {
  await withFullableStore(async (store) => {
    await store.putPending(pendingLogin({ id: "a" }));
    await store.putPending(pendingLogin({ id: "b" }));
    assertEquals((await store.takePending("a"))?.id, "a");
    await store.putPending(pendingLogin({ id: "c" }));
    assertEquals(await store.deletePending("b"), true);
    await store.putPending(pendingLogin({ id: "d" }));
    assertEquals((await store.getPending("d"))?.id, "d");
    await assertRejects(() => store.putPending(pendingLogin({ id: "e" })), StoreFullError);
  });
});

Deno.test("deletePendingByCid() gives back the room of every login it removed", async () => {
  await withFullableStore(async (store) => {
    await store.putPending(pendingLogin({ id: "a", cid: 7 }));
    await store.putPending(pendingLogin({ id: "b", cid: 7 }));
    assertEquals(await store.deletePendingByCid("vpn1", 7), 2);
    await store.putPending(pendingLogin({ id: "c", cid: 8 }));
    await store.putPending(pendingLogin({ id: "d", cid: 8 }));
    await assertRejects(() => store.putPending(pendingLogin({ id: "e" })), StoreFullError);
  });
});
