/**
 * The file store lists sessions and pending logins a chunk per event-loop turn, so an admin
 * listing of a large store does not hold up the REAUTHs arriving meanwhile; the list is still
 * every live entry, oldest row first.
 */
import { nextTurn } from "../../../src/next_turn.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { BINDINGS_CHUNK } from "../../../src/sessions/list_chunk.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";
import { turnsDuring } from "../../support/turns.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

const COUNT = 1_100;

async function withStore(body: (store: SqliteStore, cipher: TokenCipher) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const store = await SqliteStore.open({
    path: `${dir}/sessions.db`,
    cipher,
    maxEntries: 2 * COUNT,
    now: () => T0,
  });
  try {
    await body(store, cipher);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sessionPages() returns every live session, oldest first, over several event-loop turns", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < COUNT; i++) {
      const expiresAt = i % 10 === 9 ? T0 - 1 : T0 + 60_000;
      await store.putSession(session({ sessionId: `s-${i}`, cid: i, expiresAt }));
    }
    const { result, turns } = await turnsDuring(() => collectPages(store.sessionPages()));
    const live = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 10 !== 9);
    assertEquals(result.map((s) => s.sessionId), live.map((i) => `s-${i}`));
    assert(result[0] !== undefined && !("refreshToken" in result[0]));
    assert(turns >= 3, `${turns} turns passed during the listing`);
  });
});

Deno.test("pendingPages() hands out every live login, oldest first, over several event-loop turns", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < COUNT; i++) {
      await store.putPending(pendingLogin({ id: `login-${i}`, cid: i }));
    }
    const { result, turns } = await turnsDuring(() => collectPages(store.pendingPages()));
    assertEquals(result.length, COUNT);
    assertEquals(result.at(-1)?.id, `login-${COUNT - 1}`);
    assert(Object.isFrozen(result[0]));
    assert(turns >= 3, `${turns} turns passed during the listing`);
  });
});

Deno.test("listBindings() returns every live binding of the server, each once, over several event-loop turns", async () => {
  await withStore(async (store) => {
    const count = 3 * BINDINGS_CHUNK + 10;
    const expected: Array<{ sessionId: string; cid: number }> = [];
    for (let i = 0; i < count; i++) {
      // Two sessions per cid after the first (a cid of an earlier OpenVPN run), so that a pair
      // straddles the end of each chunk.
      const cid = Math.floor((i + 1) / 2);
      await store.putSession(session({ sessionId: `b-${i}`, cid, expiresAt: T0 + 60_000 + i }));
      expected.push({ sessionId: `b-${i}`, cid });
    }
    await store.putSession(session({ sessionId: "away", cid: undefined }));
    await store.putSession(session({ sessionId: "gone", cid: 5, expiresAt: T0 - 1 }));
    await store.putSession(session({ sessionId: "elsewhere", server: "vpn2", cid: 5 }));
    const { result, turns } = await turnsDuring(() => store.listBindings("vpn1"));
    const byId = (a: { sessionId: string }, b: { sessionId: string }) =>
      a.sessionId < b.sessionId ? -1 : 1;
    assertEquals(result.slice().sort(byId), expected.sort(byId));
    assert(turns >= 3, `${turns} turns passed during the listing`);
  });
});

Deno.test("sessionPages() reads no refresh token: none is decrypted", async () => {
  await withStore(async (store, cipher) => {
    for (let i = 0; i < 3; i++) {
      await store.putSession(session({ sessionId: `s-${i}`, cid: i, refreshToken: `t-${i}` }));
    }
    cipher.openToken = () => {
      throw new Error("a listing decrypted a refresh token");
    };
    assertEquals((await collectPages(store.sessionPages())).map((s) => s.sessionId), [
      "s-0",
      "s-1",
      "s-2",
    ]);
  });
});

Deno.test("sessionPages() lists a session written again while it is listed once, as it was or as it is", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < COUNT; i++) {
      await store.putSession(session({ sessionId: `s-${i}`, cid: i }));
    }
    const listing = collectPages(store.sessionPages());
    // The first chunk is read; before the next, s-0 (in the first) is written again whole.
    await nextTurn();
    const put = store.putSession(session({ sessionId: "s-0", cid: 0, username: "renamed" }));
    const listed = await listing;
    await put;
    assertEquals(listed.length, COUNT);
    assertEquals(new Set(listed.map((s) => s.sessionId)).size, COUNT, "a session listed twice");
    assertEquals((await store.getSession("s-0"))?.username, "renamed");
  });
});
