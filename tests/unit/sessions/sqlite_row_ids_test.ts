/**
 * Which id a file store row is served as. Someone who can write the file copies one entry's row
 * under another id: the store refuses it there, as the Redis store refuses a copied entry
 * (tests/integration/sessions/redis_store_test.ts), because the row's JSON must name the id it
 * was read by. Its secrets would still open (they are sealed to the id inside the JSON), so only
 * this check keeps session a, with a's refresh token, from being served as b. The key column is
 * not that id: SQLite does not hold every JS string exactly.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { nextTurn } from "../../../src/next_turn.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

const KEY = new Uint8Array(32).fill(7);

interface FileStore {
  path: string;
  store: SqliteStore;
  /** Closes the store and opens the file again (which reads its bound sessions into the cache). */
  reopen(): Promise<SqliteStore>;
}

/** A store on a fresh file, closed and removed after `body`. */
async function withFileStore(body: (file: FileStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sessions-test-" });
  const path = `${dir}/sessions.db`;
  const cipher = await TokenCipher.fromKeyBytes(KEY);
  const open = () => SqliteStore.open({ path, cipher, maxEntries: 1000, now: () => T0 });
  const file: FileStore = {
    path,
    store: await open(),
    reopen: async () => {
      await file.store.close();
      return (file.store = await open());
    },
  };
  try {
    await body(file);
  } finally {
    await file.store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Runs `sql` on its own connection, as an admin (or an attacker) with the file would, and waits
 * for the next event-loop turn, from which on the store sees another connection's commit.
 */
async function rawRun(path: string, sql: string): Promise<void> {
  const raw = new DatabaseSync(path);
  try {
    raw.prepare(sql).run();
  } finally {
    raw.close();
  }
  await nextTurn();
}

/** A clear refusal that names neither id (pending ids are login capabilities). */
async function assertCopyRefused(
  read: () => Promise<unknown>,
  table: "sessions" | "pending",
): Promise<void> {
  const error = await assertRejects(read, Error, `Session store row is unreadable: ${table}`);
  const cause = String((error.cause as Error | undefined)?.message);
  assertMatch(cause, /names another entry than the one read/);
  for (const text of [error.message, cause]) {
    assert(!text.includes("victim") && !text.includes("copy"), text);
  }
}

Deno.test("SqliteStore refuses a session row copied under another id: by id, after reopening; found by cid it is the session it names", async () => {
  await withFileStore(async (file) => {
    const { store, path } = file;
    await store.putSession(session({ sessionId: "victim", cid: 7, refreshToken: "victim-token" }));
    await store.putSession(session({ sessionId: "copy", cid: 8, refreshToken: "copy-token" }));
    assertEquals((await store.getSession("copy"))?.refreshToken, "copy-token");
    await rawRun(
      path,
      "UPDATE sessions SET (data, refresh_token) = " +
        "(SELECT data, refresh_token FROM sessions WHERE session_id = 'victim') " +
        "WHERE session_id = 'copy'",
    );
    await assertCopyRefused(() => store.getSession("copy"), "sessions");
    // Nothing was cached: asked again, it is refused again rather than served.
    await assertCopyRefused(() => store.getSession("copy"), "sessions");
    assertEquals((await store.getSession("victim"))?.refreshToken, "victim-token");
    // Found by something else than its id, the row is what its own JSON names, as in Redis: a
    // second "victim" (the caller reads that id again before acting), never "copy".
    assertEquals(await store.findSessionIdByCid("vpn1", 8), "victim");
    assertEquals((await collectPages(store.sessionPages())).map((s) => s.sessionId), [
      "victim",
      "victim",
    ]);
    await assertCopyRefused(() => store.getSession("copy"), "sessions");

    // Opening reads bound rows into the cache; the copied one must not land there as "copy".
    const reopened = await file.reopen();
    await assertCopyRefused(() => reopened.getSession("copy"), "sessions");
    assertEquals((await reopened.getSession("victim"))?.refreshToken, "victim-token");
  });
});

Deno.test("SqliteStore refuses a pending login row copied under another id, for getPending and takePending", async () => {
  await withFileStore(async ({ store, path }) => {
    await store.putPending(pendingLogin({ id: "victim" }));
    await store.putPending(pendingLogin({ id: "copy", cid: 8, oauth: undefined }));
    assertEquals((await store.getPending("copy"))?.oauth, undefined);
    await rawRun(
      path,
      "UPDATE pending SET data = (SELECT data FROM pending WHERE id = 'victim') WHERE id = 'copy'",
    );
    await assertCopyRefused(() => store.getPending("copy"), "pending");
    await assertCopyRefused(() => store.getPending("copy"), "pending");
    await assertCopyRefused(() => store.takePending("copy"), "pending");
    assertEquals((await store.getPending("victim"))?.oauth?.state, "state-1");
    assertEquals((await store.takePending("victim"))?.id, "victim");
  });
});

Deno.test("SqliteStore: a session whose id the key column does not hold exactly is not taken for another, by cid or after reopening", async () => {
  await withFileStore(async (file) => {
    // Deno's node:sqlite reads the first key back cut at its NUL, as the second one's id.
    const cut = session({ sessionId: "s\u0000tail", cid: 5, refreshToken: "token-cut" });
    const short = session({ sessionId: "s", cid: 6, refreshToken: "token-short" });
    await file.store.putSession(cut);
    await file.store.putSession(short);
    const check = async (store: SqliteStore) => {
      assertEquals(await store.findSessionIdByCid("vpn1", 5), cut.sessionId);
      assertEquals(await store.getSession("s"), short);
      assertEquals(await store.findSessionIdByCid("vpn1", 6), short.sessionId);
      assertEquals(await store.getSession("s\u0000tail"), cut);
    };
    await check(file.store);
    // Reopened: the bound rows are read into the cache at opening, the cut one first.
    await check(await file.reopen());
  });
});
