/**
 * The file store's sweep stays off the event loop: expired rows go in batches, one per turn,
 * and the checkpoint runs on a worker thread. What a checkpoint does is still done: the
 * transactions in the WAL reach the database file itself (what survives a power loss).
 */
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { existsSync, mkdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { WalCheckpointer } from "../../../src/sessions/wal_checkpoint.ts";
import { SWEEP_BATCH } from "../../../src/sessions/sqlite_sweep.ts";
import { PENDING_GRACE_MS } from "../../../src/sessions/pending_grace.ts";
import { pendingLogin, session, sessionsInMainFile, T0 } from "./fixtures.ts";

function openStore(path: string, maxEntries: number): Promise<SqliteStore> {
  return TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7)).then((cipher) =>
    SqliteStore.open({ path, cipher, maxEntries, now: () => T0 })
  );
}

Deno.test("a sweep checkpoints the WAL into the database file, on a worker thread", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint-test-" });
  const path = `${dir}/sessions.db`;
  const store = await openStore(path, 1000);
  try {
    await store.putSession(session({ sessionId: "s-1" }));
    await store.putSession(session({ sessionId: "s-2" }));
    assertEquals(sessionsInMainFile(path, dir), [], "written to the WAL only, before the sweep");
    const sweeping = store.sweep(T0);
    // The old sweep checkpointed on the event loop, before it returned.
    assertEquals(sessionsInMainFile(path, dir), [], "not checkpointed inside sweep() itself");
    await sweeping;
    assertEquals(sessionsInMainFile(path, dir), ["s-1", "s-2"]);
    assertEquals((await store.getSession("s-2"))?.sessionId, "s-2");
    // The worker keeps its connection between sweeps.
    await store.putSession(session({ sessionId: "s-3" }));
    await store.sweep(T0);
    assertEquals(sessionsInMainFile(path, dir), ["s-1", "s-2", "s-3"]);
    await store.putSession(session({ sessionId: "s-4" }));
  } finally {
    await store.close();
  }
  try {
    // The worker closed its connection before the store closed its own, the last one: that
    // close checkpointed the rest and removed the WAL.
    assertEquals(existsSync(`${path}-wal`), false);
    assertEquals(sessionsInMainFile(path, dir), ["s-1", "s-2", "s-3", "s-4"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint runs once more on this thread after the worker's, for what was committed meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint-test-" });
  const path = `${dir}/sessions.db`;
  const db = new DatabaseSync(path);
  let ranHere = 0;
  try {
    db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x)");
    const checkpointer = new WalCheckpointer({ path, busyTimeoutMs: 100 }, () => void ranHere++);
    try {
      await checkpointer.checkpoint();
      assertEquals(ranHere, 1, "once, after the worker");
    } finally {
      await checkpointer.close();
    }
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a checkpoint the worker cannot do runs on this thread after all, and says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint-test-" });
  // A directory where the database file should be: the worker cannot open it.
  mkdirSync(`${dir}/not-a-file`);
  let ranHere = 0;
  try {
    const checkpointer = new WalCheckpointer(
      { path: `${dir}/not-a-file`, busyTimeoutMs: 100 },
      () => void ranHere++,
    );
    try {
      const error = await assertRejects(() => checkpointer.checkpoint());
      assertMatch(String(error), /WAL checkpoint failed: .*ran on the event loop instead/);
      assertEquals(ranHere, 1);
    } finally {
      await checkpointer.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A liveness bound, not a timing check: `promise`'s outcome, or "hung" after 10 s. */
async function within10s<T>(promise: Promise<T>): Promise<T | "hung"> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<"hung">((resolve) => (guard = setTimeout(() => resolve("hung"), 10_000))),
    ]);
  } finally {
    clearTimeout(guard);
  }
}

const silentWorker = new URL("../../support/silent_worker.ts", import.meta.url).href;

Deno.test("close() ends a worker that never answers, mid-checkpoint, after its wait", async () => {
  let ranHere = 0;
  const checkpointer = new WalCheckpointer(
    { path: "unused.db", busyTimeoutMs: 100 },
    () => void ranHere++,
    {
      workerUrl: silentWorker,
      closeWaitMs: 50,
    },
  );
  const checkpoint = checkpointer.checkpoint().then(() => "done", (error) => String(error));
  assertEquals(await within10s(checkpointer.close().then(() => "closed")), "closed");
  assertMatch(
    String(await within10s(checkpoint)),
    /closed before the WAL checkpoint finished/,
    "the caller still waiting is told",
  );
  assertEquals(ranHere, 0, "nothing ran on the event loop at close");
});

Deno.test("a checkpoint stuck in its worker rejects its callers after the wait: sweeps go on", async () => {
  let ranHere = 0;
  const checkpointer = new WalCheckpointer(
    { path: "unused.db", busyTimeoutMs: 100 },
    () => void ranHere++,
    {
      workerUrl: silentWorker,
      checkpointWaitMs: 50,
      closeWaitMs: 50,
    },
  );
  try {
    // The second call joins the stuck checkpoint and is told after its own wait.
    for (const call of ["first", "second"]) {
      const outcome = await within10s(
        checkpointer.checkpoint().then(() => "done", (error) => String(error)),
      );
      assertMatch(String(outcome), /WAL checkpoint not done after 0.05 s/, `${call} call`);
    }
    assertEquals(ranHere, 0, "nothing ran on the event loop");
  } finally {
    await checkpointer.close();
  }
});

Deno.test("a sweep removes many expired rows in batches, one transaction per event-loop turn", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sweep-test-" });
  const path = `${dir}/sessions.db`;
  const store = await openStore(path, 10_000);
  const other = new DatabaseSync(path, { readOnly: true });
  const left = () => Number(other.prepare("SELECT count(*) AS n FROM pending").get()?.["n"]);
  try {
    const rows = 2 * SWEEP_BATCH + 10;
    await Promise.all(
      Array.from(
        { length: rows },
        (_, i) => store.putPending(pendingLogin({ id: `p-${i}`, cid: i, expiresAt: T0 + 1000 })),
      ),
    );
    await store.putPending(pendingLogin({ id: "live", cid: 99_999, expiresAt: T0 + 3_600_000 }));
    // Past the logins' grace too (pending_grace.ts).
    const sweeping = store.sweep(T0 + 60_000 + PENDING_GRACE_MS);
    // The first batch is committed before sweep() returns; the rest wait for later turns.
    assertEquals(left(), rows + 1 - SWEEP_BATCH);
    assertEquals(await sweeping, { pending: rows, sessions: 0 });
    assertEquals(left(), 1);
  } finally {
    other.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
