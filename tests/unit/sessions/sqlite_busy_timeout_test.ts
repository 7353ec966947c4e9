/**
 * The session file's busy timeout: a write lock another process holds (an admin's sqlite3
 * shell, a backup tool) is waited for, up to BUSY_TIMEOUT_MS (the README's 5 s), before the file
 * counts as unreachable. The lock held past it is in
 * tests/unit/bridge/revocation_store_fault_test.ts.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BUSY_TIMEOUT_MS } from "../../../src/sessions/sqlite_file.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { session, T0 } from "./fixtures.ts";

/** How long the other connection holds its write lock: far below the busy timeout. */
const HELD_MS = 200;

/**
 * A connection on another thread (the store's calls block this one while SQLite waits) that
 * takes the write lock, says so, and gives it back `HELD_MS` later.
 */
const HOLDER = `
import { DatabaseSync } from "node:sqlite";
self.onmessage = ({ data: path }) => {
  const db = new DatabaseSync(path);
  db.exec("BEGIN IMMEDIATE");
  self.postMessage("locked");
  setTimeout(() => {
    db.exec("ROLLBACK");
    db.close();
    self.postMessage("released");
  }, ${HELD_MS});
};
`;

Deno.test("the session file's busy timeout is the README's 5 s", () => {
  assertEquals(BUSY_TIMEOUT_MS, 5_000);
});

Deno.test("a write waits out another process's write lock held for less than the busy timeout, instead of failing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite-busy-timeout-test-" });
  const path = `${dir}/sessions.sqlite`;
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const store = await SqliteStore.open({ path, cipher, maxEntries: 100, now: () => T0 });
  const url = URL.createObjectURL(new Blob([HOLDER], { type: "text/javascript" }));
  const holder = new Worker(url, { type: "module" });
  try {
    const released = new Promise<void>((resolve, reject) => {
      holder.onerror = reject;
      holder.onmessage = ({ data }) => {
        if (data === "released") resolve();
      };
    });
    const locked = new Promise<void>((resolve) => {
      const listener = ({ data }: MessageEvent) => {
        if (data !== "locked") return;
        holder.removeEventListener("message", listener);
        resolve();
      };
      holder.addEventListener("message", listener);
    });
    holder.postMessage(path);
    await locked;
    const started = performance.now();
    await store.putSession(session({ sessionId: "s1" }));
    const waited = performance.now() - started;
    assert(waited >= HELD_MS / 2, `the write did not wait for the lock (${waited} ms)`);
    assertEquals((await store.getSession("s1"))?.sessionId, "s1");
    await released;
  } finally {
    holder.terminate();
    URL.revokeObjectURL(url);
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
