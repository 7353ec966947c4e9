/**
 * The file store writes a session again by its cid and `data` alone, its sealed refresh token
 * and index entries left as stored, when only those changed since the row it holds (a
 * reconnect, a disconnect); and whole, the token sealed anew, whenever the row may differ
 * otherwise: a new token or indexed field, another connection's commit, an earlier put of the
 * same batch.
 */
import { DatabaseSync } from "node:sqlite";
import { nextTurn } from "../../../src/next_turn.ts";
import { assertEquals, assertNotEquals } from "../../support/assert.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { EVENTS_T0 as T0, testSession } from "../../support/client_events_fixture.ts";

const KEY = new Uint8Array(32).fill(7);

interface Files {
  open(): Promise<SqliteStore>;
  /** The sealed token as the file holds it, read over a connection of its own. */
  storedToken(sessionId: string): Uint8Array | null;
}

async function withFile(body: (files: Files) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/sessions.db`;
  const stores: SqliteStore[] = [];
  const files: Files = {
    open: async () => {
      const cipher = await TokenCipher.fromKeyBytes(KEY);
      const store = await SqliteStore.open({ path, cipher, maxEntries: 100 });
      stores.push(store);
      return store;
    },
    storedToken: (sessionId) => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        const row = db.prepare("SELECT refresh_token FROM sessions WHERE session_id = ?")
          .get(sessionId);
        const blob = row?.["refresh_token"];
        return blob instanceof Uint8Array ? Uint8Array.from(blob) : null;
      } finally {
        db.close();
      }
    },
  };
  try {
    await body(files);
  } finally {
    for (const store of stores) await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The session's token as a store opened afresh decrypts it from the file. */
async function tokenInFile(files: Files, sessionId: string): Promise<string | undefined> {
  const fresh = await files.open();
  return (await fresh.getSession(sessionId))?.refreshToken;
}

Deno.test("a session written again with its token keeps the sealed token, and opens as before", async () => {
  await withFile(async (files) => {
    const store = await files.open();
    await store.putSession(testSession({ sessionId: "s-1", cid: 1, refreshToken: "rt-1" }));
    const sealed = files.storedToken("s-1");
    const read = (await store.getSession("s-1"))!;
    await store.putSession({ ...read, cid: 2 });
    await store.putSession({ ...read, cid: undefined, resumable: true });
    assertEquals(files.storedToken("s-1"), sealed);
    const fresh = await files.open();
    const reread = (await fresh.getSession("s-1"))!;
    assertEquals([reread.refreshToken, reread.cid, reread.resumable], ["rt-1", undefined, true]);
    // A session read from the file (not written by this store) keeps its sealed token too.
    await fresh.putSession({ ...reread, cid: 3 });
    assertEquals(files.storedToken("s-1"), sealed);
  });
});

Deno.test("a session written with a new token, or without one, has it sealed anew", async () => {
  await withFile(async (files) => {
    const store = await files.open();
    await store.putSession(testSession({ sessionId: "s-1", refreshToken: "rt-1" }));
    const first = files.storedToken("s-1");
    await store.putSession(testSession({ sessionId: "s-1", refreshToken: "rt-2" }));
    assertNotEquals(files.storedToken("s-1"), first);
    assertEquals(await tokenInFile(files, "s-1"), "rt-2");
    await store.putSession(testSession({ sessionId: "s-1", refreshToken: undefined }));
    assertEquals(files.storedToken("s-1"), null);
    await store.putSession(testSession({ sessionId: "s-1", refreshToken: "rt-2" }));
    assertEquals(await tokenInFile(files, "s-1"), "rt-2");
  });
});

Deno.test("a session written again with another sid, subject, user name, deadline or server is found by the new one only", async () => {
  await withFile(async (files) => {
    const store = await files.open();
    const before = { sid: "sso-1", subject: "u-1", username: "alice", expiresAt: T0 + 60_000 };
    const changes = [
      { sid: "sso-2" },
      { subject: "u-2" },
      { username: "alice2" },
      { expiresAt: T0 + 120_000 },
      { server: "vpn2" },
    ];
    for (const [i, change] of changes.entries()) {
      await store.putSession(testSession({ sessionId: `s-${i}`, cid: i, ...before }));
      const read = (await store.getSession(`s-${i}`))!;
      await store.putSession({ ...read, ...change, cid: 100 + i });
    }
    const fresh = await files.open();
    const found = async (query: Promise<{ sessionId: string }[]>) =>
      (await query).map((s) => s.sessionId).sort();
    assertEquals(await found(fresh.findSessionsBySid("sso-2")), ["s-0"]);
    assertEquals(await found(fresh.findSessionsBySid("sso-1")), ["s-1", "s-2", "s-3", "s-4"]);
    assertEquals(await found(fresh.findSessionsBySubject("u-2")), ["s-1"]);
    assertEquals(await found(fresh.findSessionsByUsername("alice2")), ["s-2"]);
    // The deadline decides what a sweep removes: the later one is the one that counts.
    assertEquals(await fresh.findSessionIdByCid("vpn2", 104), "s-4");
    await fresh.sweep(T0 + 90_000);
    assertEquals(await found(fresh.findSessionsBySid("sso-1")), ["s-3"]);
  });
});

Deno.test("after another connection wrote a session's token, a put writes its own token again", async () => {
  await withFile(async (files) => {
    const a = await files.open();
    const b = await files.open();
    await a.putSession(testSession({ sessionId: "s-1", cid: 1, refreshToken: "rt-a" }));
    const cached = (await a.getSession("s-1"))!;
    // Within the same turn as a's cached read: only the write's own check can see this commit.
    await b.putSession(testSession({ sessionId: "s-1", cid: 1, refreshToken: "rt-b" }));
    await a.putSession({ ...cached, cid: 2 });
    const reread = (await (await files.open()).getSession("s-1"))!;
    assertEquals([reread.refreshToken, reread.cid], ["rt-a", 2]);
  });
});

Deno.test("a session put twice in one batch ends with the last put's token", async () => {
  await withFile(async (files) => {
    const store = await files.open();
    await store.putSession(testSession({ sessionId: "s-1", refreshToken: "rt-1" }));
    await nextTurn();
    const cached = (await store.getSession("s-1"))!;
    // Both in one turn, so one transaction; the second has the token the row held before it.
    const puts = [
      store.putSession({ ...cached, refreshToken: "rt-2" }),
      store.putSession({ ...cached, cid: 5 }),
    ];
    await Promise.all(puts);
    const reread = (await (await files.open()).getSession("s-1"))!;
    assertEquals([reread.refreshToken, reread.cid], ["rt-1", 5]);
  });
});

Deno.test("a cached session whose row another connection deleted is written whole again", async () => {
  await withFile(async (files) => {
    const a = await files.open();
    const b = await files.open();
    await a.putSession(testSession({ sessionId: "s-1", refreshToken: "rt-1" }));
    const cached = (await a.getSession("s-1"))!;
    await b.deleteSession("s-1");
    await a.putSession({ ...cached, cid: 8 });
    const reread = (await (await files.open()).getSession("s-1"))!;
    assertEquals([reread.refreshToken, reread.cid], ["rt-1", 8]);
  });
});
