/**
 * Run by sqlite_io_error_test.ts, under Deno or Bun, with SIGXFSZ ignored: caps the size of the
 * files this process may write (prlimit), so that SQLite's first write past the cap fails with
 * EFBIG, a real SQLITE_IOERR_WRITE after which SQLite has rolled the transaction back itself,
 * and prints what the store answered as one JSON line.
 *
 *   _io_error_child.ts batch-session PATH  three puts in one turn, the middle session too large
 *   _io_error_child.ts batch-pending PATH  the same with a login in the middle
 *   _io_error_child.ts open PATH           opens a file whose migration outgrows the cap
 *   _io_error_child.ts sweep PATH          sweeps with a WAL whose checkpoint outgrows the cap
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import process from "node:process";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";

/** Larger than SQLite's page cache (2 MiB): writing it spills pages into the WAL mid-statement. */
const LARGE = "x".repeat(4 * 1024 * 1024);

const [mode, path = ""] = process.argv.slice(2);
const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
const open = () => SqliteStore.open({ path, cipher, maxEntries: 100, now: () => T0 });

/** Room for a few pages more than the files hold now, not for LARGE. */
function capFileSize(): void {
  const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  const cap = Math.max(size(path), size(`${path}-wal`)) + 256 * 1024;
  execFileSync("prlimit", ["--pid", String(process.pid), `--fsize=${cap}:`]);
}

function uncap(): void {
  execFileSync("prlimit", ["--pid", String(process.pid), "--fsize=unlimited:"]);
}

/**
 * What a promise ended with: "ok", or its error's class and SQLite's message and error code (a
 * disk error is a StoreUnavailableError whose cause is SQLite's).
 */
function outcome(result: PromiseSettledResult<unknown>): unknown {
  if (result.status === "fulfilled") return "ok";
  const error = result.reason as Error;
  const sqlite = (error instanceof StoreUnavailableError ? error.cause : error) as Error & {
    errcode?: number;
  };
  return { name: error.name, message: sqlite.message, errcode: sqlite.errcode };
}

let answer: unknown;
if (mode === "open") {
  capFileSize();
  answer = outcome((await Promise.allSettled([open()]))[0]!);
} else if (mode === "sweep") {
  const store = await open();
  await store.putSession(session({ sessionId: "s-1", claims: { large: LARGE } }));
  // Nothing expires, so the sweep writes nothing: only its checkpoint, which copies the WAL
  // into the database file, outgrows a cap just past that file's size, on the worker and here.
  const cap = statSync(path).size + 64 * 1024;
  execFileSync("prlimit", ["--pid", String(process.pid), `--fsize=${cap}:`]);
  const sweep = (await Promise.allSettled([store.sweep(T0)]))[0]!;
  uncap();
  await store.close();
  const error = sweep.status === "rejected" ? sweep.reason as Error : undefined;
  answer = { name: error?.name, message: error?.message };
} else {
  const store = await open();
  capFileSize();
  // In this order: the batch writes its puts in the order they were made.
  const puts = await Promise.allSettled([
    store.putPending(pendingLogin({ id: "p-1" })),
    mode === "batch-pending"
      ? store.putPending(pendingLogin({ id: "p-2", username: LARGE }))
      : store.putSession(session({ sessionId: "s-2", claims: { large: LARGE } })),
    store.putSession(session({ sessionId: "s-3", cid: 8 })),
  ]);
  // The store goes on once the disk takes writes again.
  uncap();
  const after = await Promise.allSettled([store.putSession(session({ sessionId: "s-4", cid: 9 }))]);
  await store.close();
  answer = { puts: puts.map(outcome), after: outcome(after[0]!) };
}
process.stdout.write(`${JSON.stringify(answer)}\n`);
