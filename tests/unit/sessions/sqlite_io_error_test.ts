/**
 * A write failing with a real I/O error (EFBIG past a file size cap, SQLITE_IOERR_WRITE, in a
 * child process: _io_error_child.ts), after which SQLite has rolled the transaction back itself:
 * the error reported is the disk's, not the "cannot rollback - no transaction is active" a
 * ROLLBACK then fails with, and a batch of puts fails as one, none of it in the file.
 */
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertStrictEquals } from "../../support/assert.ts";
import { migrate, rolledBack } from "../../../src/sessions/sqlite_schema.ts";
import { sessionData } from "../../../src/sessions/session_data.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { session, T0 } from "./fixtures.ts";

const CHILD = new URL("./_io_error_child.ts", import.meta.url).pathname;
/** SQLITE_IOERR_WRITE: the extended code of a write(2) that failed. */
const IOERR_WRITE = 778;
/** As the store reports it: unavailable for the moment, SQLite's error its cause. */
const DISK_ERROR = {
  name: "StoreUnavailableError",
  message: "disk I/O error",
  errcode: IOERR_WRITE,
};
/** About SQLite's page cache (2 MiB). */
const LARGE = "x".repeat(2 * 1024 * 1024);
const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));

const RUNTIMES = {
  deno: [Deno.execPath(), "run", "-A"],
  bun: [Deno.env.get("BUN") ?? "bun"],
};

/** Runs the child with SIGXFSZ ignored (so EFBIG is an error, not a kill); its JSON answer. */
async function runChild(runtime: keyof typeof RUNTIMES, mode: string, path: string) {
  const output = await new Deno.Command("sh", {
    args: ["-c", `trap '' XFSZ; exec "$@"`, "sh", ...RUNTIMES[runtime], CHILD, mode, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (!output.success) throw new Error(`child failed: ${text(output.stderr)}`);
  return JSON.parse(text(output.stdout));
}

async function withPath(run: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "io-error-test-" });
  try {
    await run(`${dir}/sessions.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The ids of the file's pending logins and sessions, as a new connection reads them. */
function idsInFile(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT id FROM pending UNION ALL SELECT session_id FROM sessions").all()
      .map((row) => String(row["id"])).sort();
  } finally {
    db.close();
  }
}

for (const runtime of ["deno", "bun"] as const) {
  for (const middle of ["session", "pending"]) {
    Deno.test(`[${runtime}] an I/O error on the ${middle} in the middle of a batch refuses all of it with that error, none of it written`, () =>
      withPath(async (path) => {
        const answer = await runChild(runtime, `batch-${middle}`, path);
        // Before: s-3 written (in autocommit), and all three refused with "cannot rollback".
        assertEquals(idsInFile(path), ["s-4"]);
        assertEquals(answer, { puts: [DISK_ERROR, DISK_ERROR, DISK_ERROR], after: "ok" });
      }));
  }

  Deno.test(`[${runtime}] an I/O error during a schema migration fails the opening with that error, the file left as it was`, () =>
    withPath(async (path) => {
      const large = fileOfVersion1(path);
      // Before: "cannot rollback - no transaction is active". (Deno's exec() gives no errcode.)
      assertEquals(
        (await runChild(runtime, "open", path)).message,
        `Session file ${path}: ${DISK_ERROR.message}`,
      );
      assertEquals(userVersion(path), 1);
      // Migrated once the disk takes writes again.
      const store = await SqliteStore.open({ path, cipher, maxEntries: 100, now: () => T0 });
      try {
        const found = await store.findSessionsBySubject(large.subject);
        assertEquals(found.map((s) => s.sessionId), [large.sessionId]);
      } finally {
        await store.close();
      }
    }));
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`[${runtime}] a checkpoint failing on a disk error, on its worker and here, rejects the sweep as the store unavailable, naming the file`, () =>
    withPath(async (path) => {
      // Before: SQLite's bare "disk I/O error", which the sweeper logged at every sweep as an
      // error with a stack and no path (startSweeper warns of a StoreUnavailableError).
      assertEquals(await runChild(runtime, "sweep", path), {
        name: "StoreUnavailableError",
        message: `Session store unavailable: ${path}: disk I/O error (SQLITE_IOERR)`,
      });
    }));
}

Deno.test("rolledBack: no ROLLBACK once SQLite ended the transaction; a failed one is the cause", () => {
  const db = new DatabaseSync(":memory:");
  try {
    const error = new Error("disk I/O error");
    let rollbacks = 0;
    assertStrictEquals(rolledBack(db, error, () => rollbacks++), error);
    assertEquals(rollbacks, 0);
    db.exec("BEGIN");
    const failure = new Error("rollback failed");
    assertStrictEquals(
      rolledBack(db, error, () => {
        throw failure;
      }),
      error,
    );
    assertStrictEquals(error.cause, failure);
    // Still open: the default ROLLBACK ends it.
    const refused = new Error("refused");
    assertStrictEquals(rolledBack(db, refused), refused);
    assertEquals([db.isTransaction, refused.cause], [false, undefined]);
  } finally {
    db.close();
  }
});

function userVersion(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare("PRAGMA user_version").get()?.["user_version"]);
  } finally {
    db.close();
  }
}

/**
 * A file of schema version 1 holding a session whose sid, subject and user name are large: its
 * migration writes them into three indexes, then into columns of their own and three indexes
 * again, several times the file's size into the WAL, past the child's cap before the commit.
 */
function fileOfVersion1(path: string): Session {
  const large = session({
    sessionId: "large",
    sid: LARGE.replaceAll("x", "s"),
    subject: LARGE.replaceAll("x", "u"),
    username: LARGE.replaceAll("x", "n"),
  });
  const raw = new DatabaseSync(path);
  try {
    raw.exec("PRAGMA journal_mode = WAL");
    migrate(raw, path, 1);
    raw.prepare(
      "INSERT INTO sessions (session_id, server, cid, expires_at, data, refresh_token) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
      large.sessionId,
      large.server,
      large.cid!,
      large.expiresAt,
      sessionData(large),
      cipher.sealToken(large.refreshToken!, large.sessionId),
    );
  } finally {
    raw.close();
  }
  return large;
}
