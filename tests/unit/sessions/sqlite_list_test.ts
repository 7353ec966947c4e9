/**
 * The file store lists sessions and pending logins a chunk per event-loop turn, so an admin
 * listing of a large store does not hold up the REAUTHs arriving meanwhile; the list is still
 * every live entry, oldest row first.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";
import { turnsDuring } from "../../support/turns.ts";

const COUNT = 1_100;

async function withStore(body: (store: SqliteStore) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const store = await SqliteStore.open({
    path: `${dir}/sessions.db`,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
    maxEntries: 2 * COUNT,
    now: () => T0,
  });
  try {
    await body(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("listSessions() returns every live session, oldest first, over several event-loop turns", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < COUNT; i++) {
      const expiresAt = i % 10 === 9 ? T0 - 1 : T0 + 60_000;
      await store.putSession(session({ sessionId: `s-${i}`, cid: i, expiresAt }));
    }
    const { result, turns } = await turnsDuring(() => store.listSessions());
    const live = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 10 !== 9);
    assertEquals(result.map((s) => s.sessionId), live.map((i) => `s-${i}`));
    assertEquals(result[0]?.refreshToken, session().refreshToken);
    assert(turns >= 3, `${turns} turns passed during the listing`);
  });
});

Deno.test("listPending() returns every live login, oldest first, over several event-loop turns", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < COUNT; i++) {
      await store.putPending(pendingLogin({ id: `login-${i}`, cid: i }));
    }
    const { result, turns } = await turnsDuring(() => store.listPending());
    assertEquals(result.length, COUNT);
    assertEquals(result.at(-1)?.id, `login-${COUNT - 1}`);
    assert(Object.isFrozen(result[0]));
    assert(turns >= 3, `${turns} turns passed during the listing`);
  });
});
