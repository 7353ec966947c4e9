/**
 * A sweep of the file store counts its tables again when another connection wrote the file
 * since the last count (sqlite_room.ts, settle): rows that connection added are then counted
 * against max_entries, which puts with room by the counts kept never look up.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { openDatabaseFile } from "../../../src/sessions/sqlite_file.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { session, T0 } from "./fixtures.ts";

Deno.test("a sweep counts the rows another connection added: max_entries holds after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "room-sweep-test-" });
  const path = `${dir}/sessions.db`;
  const store = await SqliteStore.open({
    path,
    cipher: await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)),
    maxEntries: 2,
    now: () => T0,
  });
  const other = openDatabaseFile(path);
  try {
    await store.putSession(session({ sessionId: "own", cid: 1 }));
    other.prepare(
      "INSERT INTO sessions (session_id, server, cid, expires_at, data) VALUES ('theirs', 'vpn1', 2, ?, '{}')",
    ).run(T0 + 60_000);
    assertEquals(await store.sweep(T0), { pending: 0, sessions: 0 });
    await assertRejects(
      () => store.putSession(session({ sessionId: "third", cid: 3 })),
      StoreFullError,
    );
    const rows = other.prepare("SELECT count(*) AS n FROM sessions").get()?.["n"];
    assertEquals(rows, 2, "the file holds more sessions than max_entries");
  } finally {
    other.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
