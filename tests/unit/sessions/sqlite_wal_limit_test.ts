/**
 * The session file's WAL stays small between sweeps (wal_size_watch.ts): past its limit it is
 * checkpointed without waiting for a sweep, and then cut back, also while writes come every
 * event-loop turn. The limit here is 64 KiB; a session written alone adds ~29 KB to the WAL.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { statSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { captureLogs } from "../../support/log_capture.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import type { WalSizeWatchOptions } from "../../../src/sessions/wal_size_watch.ts";
import { session, sessionsInMainFile, T0 } from "./fixtures.ts";

const LIMIT = 64 * 1024;

async function withStore(
  test: (store: SqliteStore, path: string, dir: string) => Promise<void>,
  walWatch: WalSizeWatchOptions = { limitBytes: LIMIT, checkEveryMs: 0 },
) {
  const dir = await Deno.makeTempDir({ prefix: "wal-limit-test-" });
  const path = `${dir}/sessions.db`;
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const store = await SqliteStore.open({
    path,
    cipher,
    maxEntries: 10_000,
    now: () => T0,
    walWatch,
  });
  try {
    await test(store, path, dir);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const walSize = (path: string) => statSync(`${path}-wal`).size;

/**
 * Liveness bounds for the loops below, not timing checks: a checkpoint takes milliseconds, and
 * took 2-30 puts here. Without the watch the WAL grows by ~29 KB per put.
 */
const MAX_PUTS = 3_000;

Deno.test("a WAL past its limit is checkpointed without a sweep, then cut back", async () => {
  await withStore(async (store, path, dir) => {
    const written: string[] = [];
    const put = async () => {
      const sessionId = `s-${String(written.length).padStart(4, "0")}`;
      await store.putSession(session({ sessionId, cid: written.length }));
      written.push(sessionId);
    };
    // ~87 KB, past the limit; not asserted: two sessions may pass it already (the first writes
    // the most), and on a loaded machine the watch's checkpoint (on its worker) then finished and
    // a commit started the WAL over before this thread read its size.
    for (let i = 0; i < 3; i++) await put();
    // Writes with pauses between them: the checkpoint catches up and a commit starts the WAL over
    // (at least one, so that a WAL cut back already is started over too).
    do {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await put();
    } while (walSize(path) > LIMIT && written.length < MAX_PUTS);
    assert(
      walSize(path) <= LIMIT,
      `the WAL is ${walSize(path)} bytes after ${written.length} puts`,
    );
    // Only a WAL whose frames are all in the database file is started over: the sessions before
    // the commit that started it are in the file itself (which commit that was depends on when
    // the checkpoint finished), the rest in the WAL cut back.
    const inFile = sessionsInMainFile(path, dir);
    assert(inFile.length > 0 && inFile.length < written.length, `${inFile.length} in the file`);
    assertEquals(inFile, written.slice(0, inFile.length));
  });
});

Deno.test("writes every event-loop turn still see the WAL cut back (the rest is copied here)", async () => {
  await withStore(async (store, path) => {
    let previous = 0;
    let cutAfter = -1;
    // No pauses: the worker's checkpoint never covers the frames committed while it copied.
    for (let i = 0; cutAfter < 0 && i < MAX_PUTS; i++) {
      await store.putSession(session({ sessionId: `s-${i}`, cid: i }));
      const size = walSize(path);
      if (size < previous) cutAfter = i;
      previous = size;
    }
    assert(cutAfter > 0, `the WAL was never cut back; it is ${previous} bytes`);
  });
});

Deno.test("by default the WAL is cut back to 16 MiB (README)", async () => {
  await withStore(async (store, path) => {
    const limit = 16 * 1024 * 1024;
    let puts = 0;
    while (walSize(path) <= limit && puts < MAX_PUTS) {
      await store.putSession(session({ sessionId: `s-${puts}`, cid: puts }));
      puts++;
    }
    assert(walSize(path) > limit, `${puts} puts wrote ${walSize(path)} bytes`);
    // Pauses let the checkpoint (asked at most 4 times a second) catch up.
    while (walSize(path) > limit && puts < 2 * MAX_PUTS) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await store.putSession(session({ sessionId: `s-${puts}`, cid: puts }));
      puts++;
    }
    assertEquals(walSize(path), limit, `after ${puts} puts`);
  }, {});
});

Deno.test("a reader elsewhere that holds the WAL is warned, and once it ends the WAL is cut back", async () => {
  await withStore(async (store, path) => {
    await store.putSession(session({ sessionId: "before", cid: 0 }));
    // An sqlite3 shell left at its prompt inside a transaction, after a SELECT.
    const reader = new DatabaseSync(path);
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM sessions").get();
    let puts = 0;
    const putWithPause = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await store.putSession(session({ sessionId: `s-${puts}`, cid: ++puts }));
    };
    try {
      const held = captureLogs();
      const warned = () => held.lines.some((line) => line.level === "warning");
      try {
        // Until warned, however long the checkpoint worker takes to start on a loaded machine
        // (the WAL alone once grew past 4 x LIMIT before its first answer), and 4 x LIMIT.
        while ((!warned() || walSize(path) <= 4 * LIMIT) && puts < MAX_PUTS) {
          await putWithPause();
        }
      } finally {
        held.stop();
      }
      assert(walSize(path) > 4 * LIMIT, `the WAL is ${walSize(path)} bytes after ${puts} puts`);
      const warnings = held.lines.filter((line) => line.level === "warning")
        .map((line) => line.text);
      assertEquals(warnings.length, 1, `warned while held: ${JSON.stringify(warnings)}`);
      assert(
        warnings[0]!.includes("another connection keeps a read transaction open"),
        warnings[0],
      );
    } finally {
      reader.exec("COMMIT");
      reader.close();
    }
    const ended = captureLogs();
    const said = () =>
      ended.lines.some((line) => line.text === "The session file's WAL is checkpointed again");
    try {
      // Until said too: the checkpoint's answer (and its line) may come a turn after the commit
      // that cut the WAL back (1 run in 20 under load ended the loop before the line).
      const stop = puts + MAX_PUTS;
      while ((walSize(path) > LIMIT || !said()) && puts < stop) await putWithPause();
    } finally {
      ended.stop();
    }
    assert(walSize(path) <= LIMIT, `the WAL is ${walSize(path)} bytes after the reader ended`);
    assert(said(), `said once the reader ended: ${JSON.stringify(ended.lines)}`);
  }, { limitBytes: LIMIT, checkEveryMs: 0, heldWarnMs: 0 });
});
