/**
 * The file store's cache of decoded sessions against writes by another connection to the same
 * file (an admin command): once the turn that committed them is over, they are seen.
 */
import { setImmediate } from "node:timers";
import { assertEquals } from "../../support/assert.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { testSession } from "../../support/client_events_fixture.ts";

const KEY = new Uint8Array(32).fill(7);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

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
