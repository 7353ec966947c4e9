/**
 * What a sweep of the file store hands on (SessionStore.sweep, for the refresh tokens of expired
 * sessions to be revoked): each transaction's sessions, SWEEP_BATCH at most, before the next
 * transaction; never a token copied from another session's row.
 */
import { assertEquals } from "../../support/assert.ts";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { SWEEP_BATCH } from "../../../src/sessions/sqlite_sweep.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { MINUTE, session, sweepsCopiedTokenUnhanded, T0 } from "./fixtures.ts";

const SWEPT_AT = T0 + 2 * MINUTE;

/** A store on a fresh file, and a connection of its own to look at the file. */
async function withStore(
  body: (store: SqliteStore, file: DatabaseSync) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "swept-test-" });
  const path = `${dir}/sessions.db`;
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const store = await SqliteStore.open({ path, cipher, maxEntries: 10_000, now: () => T0 });
  const file = new DatabaseSync(path);
  try {
    await body(store, file);
  } finally {
    file.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqliteStore: sweep() hands on each transaction's sessions, SWEEP_BATCH at most, before removing more", () =>
  withStore(async (store, file) => {
    const count = 2 * SWEEP_BATCH + 10;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        store.putSession(
          session({ sessionId: `s${i}`, refreshToken: `rt-${i}`, expiresAt: T0 + MINUTE }),
        )),
    );
    const stored = () => Number(file.prepare("SELECT count(*) AS n FROM sessions").get()?.["n"]);
    const batches: Array<{ size: number; left: number }> = [];
    const result = await store.sweep(SWEPT_AT, (sessions) => {
      batches.push({ size: sessions.length, left: stored() });
      return Promise.resolve();
    });
    assertEquals(result, { pending: 0, sessions: count });
    assertEquals(batches, [
      { size: SWEEP_BATCH, left: count - SWEEP_BATCH },
      { size: SWEEP_BATCH, left: 10 },
      { size: 10, left: 0 },
    ]);
  }));

Deno.test("SqliteStore: sweep() hands on no token copied from another session's row, and removes that row", () =>
  withStore(async (store, file) => {
    // Session a's token copied into b's row: sealed to a, so not b's to hand on.
    await sweepsCopiedTokenUnhanded(store, () =>
      file.exec(
        "UPDATE sessions SET refresh_token = " +
          "(SELECT refresh_token FROM sessions WHERE session_id = 'a') WHERE session_id = 'b'",
      ));
    const left = file.prepare("SELECT session_id FROM sessions").all();
    assertEquals(left.map((row) => row["session_id"]), ["a"]);
  }));
