/**
 * The file store's caches of decoded sessions and pending logins against writes by another
 * connection to the same file (an admin command): once the turn that committed them is over,
 * they are seen. And the pending-login cache against this store's own deletes and the clock.
 */
import { nextTurn } from "../../../src/next_turn.ts";
import { assertEquals, assertStrictEquals } from "../../support/assert.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { testPendingLogin, testSession } from "../../support/client_events_fixture.ts";

const KEY = new Uint8Array(32).fill(7);

async function twoStores(body: (a: SqliteStore, b: SqliteStore) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sessions.db`;
  const open = async () =>
    await SqliteStore.open({ path, cipher: await TokenCipher.fromKeyBytes(KEY), maxEntries: 100 });
  const a = await open();
  const b = await open();
  try {
    await body(a, b);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a session deleted through another connection is not served from the cache after that turn", async () => {
  await twoStores(async (a, b) => {
    const session = testSession({ sessionId: "s-1", username: "alice" });
    await a.putSession(session);
    assertEquals((await a.getSession("s-1"))?.username, "alice"); // now cached
    await nextTurn();
    await b.deleteSession("s-1");
    await nextTurn();
    assertEquals(await a.getSession("s-1"), undefined);
  });
});

Deno.test("a session changed through another connection is read anew after that turn", async () => {
  await twoStores(async (a, b) => {
    await a.putSession(testSession({ sessionId: "s-1", username: "alice", cid: 1 }));
    assertEquals((await a.getSession("s-1"))?.cid, 1);
    await nextTurn();
    const stored = (await b.getSession("s-1"))!;
    await b.putSession({ ...stored, cid: 9 });
    await nextTurn();
    assertEquals((await a.getSession("s-1"))?.cid, 9);
  });
});

Deno.test("findSessionIdByCid() answers from the cache, and as the file says after another connection changed it", async () => {
  await twoStores(async (a, b) => {
    await a.putSession(
      testSession({ sessionId: "s-1", server: "vpn1", username: "alice", cid: 1 }),
    );
    const cached = (await a.getSession("s-1"))!;
    assertEquals(await a.findSessionIdByCid("vpn1", 1), "s-1");
    // A DISCONNECT's lookup decoded nothing: the cache still holds the same object.
    assertStrictEquals(await a.getSession("s-1"), cached);
    await nextTurn();
    await b.putSession({ ...cached, cid: 9 });
    await nextTurn();
    assertEquals(await a.findSessionIdByCid("vpn1", 1), undefined);
    assertEquals(await a.findSessionIdByCid("vpn1", 9), "s-1");
    await nextTurn();
    await b.deleteSession("s-1");
    await nextTurn();
    assertEquals(await a.findSessionIdByCid("vpn1", 9), undefined);
  });
});

/** A live pending login (the store's clock is the real one here). */
const livePending = (id: string, cid: number) =>
  testPendingLogin({ id, cid, createdAt: Date.now(), expiresAt: Date.now() + 60_000 });

Deno.test("a pending login taken through another connection is not served from the cache after that turn", async () => {
  await twoStores(async (a, b) => {
    await a.putPending(livePending("AAAAAAAAAAAAAAAAAAAAAA", 1));
    assertEquals((await a.getPending("AAAAAAAAAAAAAAAAAAAAAA"))?.cid, 1); // cached
    await nextTurn();
    assertEquals((await b.takePending("AAAAAAAAAAAAAAAAAAAAAA"))?.cid, 1);
    await nextTurn();
    assertEquals(await a.getPending("AAAAAAAAAAAAAAAAAAAAAA"), undefined);
  });
});

Deno.test("a pending login changed through another connection is read anew after that turn", async () => {
  await twoStores(async (a, b) => {
    await a.putPending(livePending("AAAAAAAAAAAAAAAAAAAAAA", 1));
    assertEquals((await a.getPending("AAAAAAAAAAAAAAAAAAAAAA"))?.oauth, undefined);
    await nextTurn();
    const oauth = { state: "s", nonce: "n", codeVerifier: "v", browserBinding: "b" };
    await b.putPending({ ...livePending("AAAAAAAAAAAAAAAAAAAAAA", 1), oauth });
    await nextTurn();
    assertEquals((await a.getPending("AAAAAAAAAAAAAAAAAAAAAA"))?.oauth, oauth);
  });
});

Deno.test("a take answers with what the file holds once another connection changed the login", async () => {
  await twoStores(async (a, b) => {
    const id = "AAAAAAAAAAAAAAAAAAAAAA";
    await a.putPending(livePending(id, 1));
    assertEquals((await a.getPending(id))?.oauth, undefined); // cached
    await nextTurn();
    const oauth = { state: "s", nonce: "n", codeVerifier: "v", browserBinding: "b" };
    await b.putPending({ ...livePending(id, 1), oauth });
    await nextTurn();
    assertEquals((await a.takePending(id))?.oauth, oauth);
    assertEquals(await b.takePending(id), undefined, "taken once");
  });
});

Deno.test("a take of a cached login answers with the login as written, and only once", async () => {
  await twoStores(async (a, b) => {
    const id = "AAAAAAAAAAAAAAAAAAAAAA";
    const oauth = { state: "s", nonce: "n", codeVerifier: "v", browserBinding: "b" };
    const login = { ...livePending(id, 1), oauth };
    await a.putPending(login);
    const cached = await a.getPending(id);
    const taken = await a.takePending(id);
    assertEquals(taken, login);
    assertStrictEquals(taken, cached, "from the cache, not decoded again");
    assertEquals(await a.takePending(id), undefined);
    await nextTurn();
    assertEquals(await b.takePending(id), undefined, "gone for the other connection too");
  });
});

Deno.test("cached pending logins go with their client, their take and their deadline", async () => {
  let now = Date.now();
  const dir = await Deno.makeTempDir();
  const store = await SqliteStore.open({
    path: `${dir}/sessions.db`,
    cipher: await TokenCipher.fromKeyBytes(KEY),
    maxEntries: 100,
    now: () => now,
  });
  try {
    const ids = ["AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCCCCCCCC"];
    await store.putPending(testPendingLogin({ id: ids[0]!, cid: 5, expiresAt: now + 1000 }));
    await store.putPending(testPendingLogin({ id: ids[1]!, cid: 5, expiresAt: now + 1000 }));
    await store.putPending(testPendingLogin({ id: ids[2]!, cid: 6, expiresAt: now + 1000 }));
    for (const id of ids) assertEquals((await store.getPending(id))?.id, id); // cached
    assertEquals(await store.deletePendingByCid("default", 5), 2);
    assertEquals(await store.getPending(ids[0]!), undefined);
    assertEquals(await store.getPending(ids[1]!), undefined);
    assertEquals((await store.takePending(ids[2]!))?.id, ids[2]);
    assertEquals(await store.getPending(ids[2]!), undefined);
    await store.putPending(testPendingLogin({ id: ids[0]!, cid: 5, expiresAt: now + 1000 }));
    assertEquals((await store.getPending(ids[0]!))?.id, ids[0]);
    now += 1001;
    assertEquals(await store.getPending(ids[0]!), undefined);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a cached pending login is frozen, its OIDC values too", async () => {
  await twoStores(async (a) => {
    const oauth = { state: "s", nonce: "n", codeVerifier: "v", browserBinding: "b" };
    await a.putPending({ ...livePending("AAAAAAAAAAAAAAAAAAAAAA", 1), oauth });
    const login = (await a.getPending("AAAAAAAAAAAAAAAAAAAAAA"))!;
    assertEquals([Object.isFrozen(login), Object.isFrozen(login.oauth)], [true, true]);
  });
});
