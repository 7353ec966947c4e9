/**
 * The file store's room under max_entries: a sweep keeps the row counts from what it deleted
 * and counts the tables only when another connection wrote the file meanwhile (a count of a
 * million sessions held the event loop for 11-15 ms). Real SQLite files; the count queries are
 * wrapped to see whether they ran.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import type { DatabaseSync } from "node:sqlite";
import { openDatabaseFile } from "../../../src/sessions/sqlite_file.ts";
import { prepareStatements } from "../../../src/sessions/sqlite_statements.ts";
import { SqliteRoom } from "../../../src/sessions/sqlite_room.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { SWEEP_BATCH } from "../../../src/sessions/sqlite_sweep.ts";
import { session, T0 } from "./fixtures.ts";

/** A room over `db` whose table counts are counted. */
function countedRoom(db: DatabaseSync, maxEntries: number) {
  const sql = prepareStatements(db);
  const counted = { times: 0 };
  const countSessions = sql.countSessions;
  const wrapped = {
    ...sql,
    countSessions: {
      get: () => {
        counted.times++;
        return countSessions.get();
      },
    } as typeof countSessions,
  };
  return { room: new SqliteRoom(wrapped, maxEntries, () => T0), counted };
}

function insertSession(db: DatabaseSync, id: string): void {
  db.prepare(
    "INSERT INTO sessions (session_id, server, cid, expires_at, data) VALUES (?, 'vpn1', NULL, ?, '{}')",
  ).run(id, T0 + 60_000);
}

Deno.test("a sweep counts the tables only after another connection wrote the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "room-test-" });
  const path = `${dir}/sessions.db`;
  const db = openDatabaseFile(path);
  const other = openDatabaseFile(path);
  try {
    const { room, counted } = countedRoom(db, 10);
    assertEquals(counted.times, 1, "counted once when opened");
    insertSession(db, "own-1");
    room.added("sessions");
    room.settle();
    assertEquals(counted.times, 1, "this connection's own writes are already counted");
    // Checkpoints from another connection (the store's worker) write no rows.
    other.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
    room.settle();
    assertEquals(counted.times, 1, "a checkpoint elsewhere is not a write");
    insertSession(other, "theirs-1");
    room.settle();
    assertEquals(counted.times, 2, "another process's write is counted");
    room.settle();
    assertEquals(counted.times, 2);
  } finally {
    other.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the counts a sweep keeps still refuse the entry over max_entries", async () => {
  const dir = await Deno.makeTempDir({ prefix: "room-test-" });
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  let now = T0;
  const store = await SqliteStore.open({
    path: `${dir}/sessions.db`,
    cipher,
    maxEntries: 3,
    now: () => now,
  });
  try {
    for (const id of ["old-1", "old-2"]) {
      await store.putSession(session({ sessionId: id, expiresAt: T0 + 1_000 }));
    }
    await store.putSession(session({ sessionId: "live-1", expiresAt: T0 + 60_000 }));
    now = T0 + 2_000;
    assertEquals(await store.sweep(now), { pending: 0, sessions: 2 });
    // Two rows left the table: room for exactly two more.
    await store.putSession(session({ sessionId: "new-1", expiresAt: T0 + 60_000 }));
    await store.putSession(session({ sessionId: "new-2", expiresAt: T0 + 60_000 }));
    await assertRejects(
      () => store.putSession(session({ sessionId: "new-3", expiresAt: T0 + 60_000 })),
      StoreFullError,
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a put into a full store removes one batch of expired rows, the sweep the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "room-test-" });
  const path = `${dir}/sessions.db`;
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  let now = T0;
  const maxEntries = SWEEP_BATCH + 10;
  const store = await SqliteStore.open({ path, cipher, maxEntries, now: () => now });
  const rowsInFile = () => {
    const db = openDatabaseFile(path);
    try {
      return Number(db.prepare("SELECT count(*) AS n FROM sessions").get()?.["n"]);
    } finally {
      db.close();
    }
  };
  try {
    for (let i = 0; i < maxEntries; i++) {
      await store.putSession(session({ sessionId: `old-${i}`, expiresAt: T0 + 1_000 }));
    }
    now = T0 + 2_000;
    await store.putSession(session({ sessionId: "new-1", expiresAt: T0 + 60_000 }));
    // Not every expired row: a put must not hold the event loop for all of them.
    assertEquals(rowsInFile(), maxEntries - SWEEP_BATCH + 1);
    // The batch made room for as many new rows as it removed.
    for (let i = 2; i <= SWEEP_BATCH; i++) {
      await store.putSession(session({ sessionId: `new-${i}`, expiresAt: T0 + 60_000 }));
    }
    assertEquals(await store.sweep(now), { pending: 0, sessions: 10 });
    assertEquals(rowsInFile(), SWEEP_BATCH);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("puts refused by a full table of live rows count the tables only when another connection wrote", async () => {
  const dir = await Deno.makeTempDir({ prefix: "room-test-" });
  const path = `${dir}/sessions.db`;
  const db = openDatabaseFile(path);
  const other = openDatabaseFile(path);
  try {
    const { room, counted } = countedRoom(db, 3);
    for (const id of ["live-1", "live-2", "live-3"]) {
      insertSession(db, id);
      room.added("sessions");
    }
    // A flood of new clients into the full table: each refused, none counting the table.
    for (let i = 0; i < 100; i++) {
      try {
        room.makeRoom("sessions", `new-${i}`);
        throw new Error("not refused");
      } catch (error) {
        if (!(error instanceof StoreFullError)) throw error;
      }
    }
    assertEquals(counted.times, 1, "counted once when opened, not once per refused put");
    // An admin command elsewhere deleted one: counted again, and there is room.
    other.prepare("DELETE FROM sessions WHERE session_id = 'live-1'").run();
    assertEquals(room.makeRoom("sessions", "new-x"), true);
    assertEquals(counted.times, 2);
  } finally {
    other.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
