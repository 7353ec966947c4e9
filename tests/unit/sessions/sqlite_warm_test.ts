/**
 * Warming at open: the file store reads the sessions bound to a client into its cache while
 * opening (the REAUTH storm after a restart then finds them decoded). Seen through the
 * cipher: each decoded session opens its refresh token once.
 */
import { nextTurn } from "../../../src/next_turn.ts";
import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { SqliteStore, WARM_CHUNK } from "../../../src/sessions/sqlite_store.ts";
import { prepareStatements } from "../../../src/sessions/sqlite_statements.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { session, T0 } from "./fixtures.ts";

const KEY = new Uint8Array(32).fill(7);

/** A real cipher that counts the refresh tokens it opens; `onOpen` runs before each. */
async function countingCipher(onOpen: (count: number) => void = () => {}) {
  const cipher = await TokenCipher.fromKeyBytes(KEY);
  const open = cipher.openToken.bind(cipher);
  const counter = { opened: 0 };
  cipher.openToken = (blob, sessionId) => {
    onOpen(++counter.opened);
    return open(blob, sessionId);
  };
  return { cipher, counter };
}

/** A first decode slower than opening may spend (250 ms): the rest is left to the background. */
function slowFirstOpen(count: number): void {
  if (count !== 1) return;
  const end = performance.now() + 300;
  while (performance.now() < end) {
    // Busy on purpose: opening's time budget runs out during the first chunk.
  }
}

/** A file holding `sessions`, written and closed; `body` gets its path. */
async function withFile(sessions: Session[], body: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sqlite-warm-" });
  const path = `${dir}/sessions.db`;
  try {
    const cipher = await TokenCipher.fromKeyBytes(KEY);
    const writer = await SqliteStore.open({ path, cipher, maxEntries: 2_000, now: () => T0 });
    for (const s of sessions) await writer.putSession(s);
    await writer.close();
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("opening reads the bound sessions into the cache; an unreadable one does not stop it", async () => {
  const sessions = [
    session({ sessionId: "bound-1", cid: 1 }),
    session({ sessionId: "bound-2", cid: 2 }),
    session({ sessionId: "away", cid: undefined }),
  ];
  await withFile(sessions, async (path) => {
    // bound-2's refresh token no longer decrypts (a damaged or foreign row).
    const db = new DatabaseSync(path);
    db.prepare("UPDATE sessions SET refresh_token = X'00' WHERE session_id = 'bound-2'").run();
    db.close();

    const { cipher, counter } = await countingCipher();
    const store = await SqliteStore.open({ path, cipher, maxEntries: 1000, now: () => T0 });
    try {
      assertEquals(counter.opened, 2, "both bound sessions were read while opening");
      assertEquals((await store.getSession("bound-1"))?.cid, 1);
      assertEquals(counter.opened, 2, "bound-1 came from the cache");
      assertEquals((await store.getSession("away"))?.cid, undefined);
      assertEquals(counter.opened, 3, "an unbound session is read when asked for");
      // The unreadable row is reported to whoever asks for it.
      await assertRejects(() => store.getSession("bound-2"));
      assertEquals(counter.opened, 4);
    } finally {
      await store.close();
    }
  });
});

Deno.test("the rest is read in the background, and a store closed meanwhile reads nothing more", async () => {
  // More bound sessions than one chunk, and a slow first decode: the rest is left to the
  // background.
  const count = WARM_CHUNK + 100;
  const sessions = Array.from(
    { length: count },
    (_, i) => session({ sessionId: `s-${i}`, cid: i }),
  );
  await withFile(sessions, async (path) => {
    const open = async () => {
      const { cipher, counter } = await countingCipher(slowFirstOpen);
      const store = await SqliteStore.open({ path, cipher, maxEntries: 1000, now: () => T0 });
      assertEquals(counter.opened, WARM_CHUNK, "opening read one chunk, then ran out of time");
      return { store, counter };
    };
    const left = await open();
    for (let i = 0; i < 3; i++) await nextTurn();
    assertEquals(left.counter.opened, count, "the background read the rest");
    await left.store.close();

    const closed = await open();
    await closed.store.close();
    for (let i = 0; i < 3; i++) await nextTurn();
    assertEquals(closed.counter.opened, WARM_CHUNK);
  });
});

/** Overwrites every page of the file but the first (4 KiB: the schema), in place. */
function damagePastFirstPage(path: string): void {
  const fd = openSync(path, "r+");
  try {
    const damage = new Uint8Array(fstatSync(fd).size - 4096).fill(0xff);
    assertEquals(writeSync(fd, damage, 0, damage.length, 4096), damage.length);
  } finally {
    closeSync(fd);
  }
}

Deno.test("a read failing in the background warm-up ends the warm-up with a warning, not the process", async () => {
  const count = WARM_CHUNK + 100;
  const sessions = Array.from(
    { length: count },
    (_, i) => session({ sessionId: `s-${i}`, cid: i }),
  );
  await withFile(sessions, async (path) => {
    const logs = captureLogs();
    try {
      const { cipher, counter } = await countingCipher(slowFirstOpen);
      const store = await SqliteStore.open({ path, cipher, maxEntries: 1000, now: () => T0 });
      try {
        assertEquals(counter.opened, WARM_CHUNK, "opening read one chunk, then ran out of time");
        // The file damaged behind the store's back past its first page, before the background
        // goes on (synchronously): the pages it reads next are not in SQLite's cache, and read
        // as malformed.
        damagePastFirstPage(path);
        // Before: the background's error was uncaught, and failed this test (the service died).
        for (let i = 0; i < 3; i++) await nextTurn();
        assertEquals(counter.opened, WARM_CHUNK, "the warm-up stopped at the failed read");
        const warnings = logs.lines.filter((line) => line.level === "warning");
        assertEquals(warnings.map((line) => line.text), [
          "Session cache warm-up stopped, sessions are read when asked for: " +
          "database disk image is malformed",
        ]);
        // Still answering: what was warmed from the cache, the rest with the read's error.
        assertEquals((await store.getSession("s-0"))?.cid, 0);
        await assertRejects(
          () => store.getSession(`s-${count - 1}`),
          Error,
          "database disk image is malformed",
        );
      } finally {
        await store.close();
      }
    } finally {
      logs.stop();
    }
  });
});

Deno.test("opening warms the bound sessions of every server, chunk after chunk, each once", async () => {
  // Three servers, the middle one with more than two chunks and some cids bound to
  // two sessions (a client id of an earlier OpenVPN run), plus unbound and expired sessions.
  const sessions: Session[] = [];
  const bound = (server: string, count: number) => {
    for (let i = 0; i < count; i++) {
      // Two sessions per cid after the first, so that a pair straddles each chunk's end.
      const cid = Math.floor((i + 1) / 2);
      sessions.push(
        session({ sessionId: `${server}-${i}`, server, cid, expiresAt: T0 + 60_000 + i }),
      );
    }
  };
  bound("a", 3);
  bound("vpn1", 2 * WARM_CHUNK + 100);
  bound("z", 1);
  for (let i = 0; i < 20; i++) {
    sessions.push(session({ sessionId: `away-${i}`, server: "vpn1", cid: undefined }));
    sessions.push(session({ sessionId: `old-${i}`, server: "a", cid: 900 + i, expiresAt: T0 - 1 }));
  }
  await withFile(sessions, async (path) => {
    const opened: string[] = [];
    const { cipher } = await countingCipher();
    const open = cipher.openToken.bind(cipher);
    cipher.openToken = (blob, sessionId) => {
      opened.push(sessionId);
      return open(blob, sessionId);
    };
    const store = await SqliteStore.open({ path, cipher, maxEntries: 2_000, now: () => T0 });
    try {
      for (let i = 0; i < 5; i++) await nextTurn();
      const expected = sessions.filter((s) => s.cid !== undefined && s.expiresAt >= T0)
        .map((s) => s.sessionId);
      assertEquals(opened.slice().sort(), expected.sort());
    } finally {
      await store.close();
    }
  });
});

Deno.test("the warm-up walks the client index, not the table", async () => {
  await withFile([session()], (path) => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const sql = prepareStatements(db);
      const plan = (statement: StatementSync, ...args: Array<string | number>) =>
        db.prepare(`EXPLAIN QUERY PLAN ${statement.sourceSQL}`).all(...args)
          .map((row) => String(row["detail"])).join("; ");
      // Walked by rowid, it read every row: 1.6 s of start-up at 1,000,000 sessions.
      const bound = plan(sql.boundSessionsAfter, "vpn1", -1, 0, 0, T0, 500);
      assertMatch(
        bound,
        /USING INDEX sessions_by_client \(server=\? AND \(cid,expires_at\)>/,
        bound,
      );
      const next = plan(sql.serverAfter, "");
      assertMatch(next, /USING COVERING INDEX sessions_by_client/, next);
    } finally {
      db.close();
    }
    return Promise.resolve();
  });
});
