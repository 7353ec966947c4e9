/**
 * The start's advice for a session file SQLite refuses is told by SQLite's result code. On Deno
 * a statement run with `exec` (the start's pragmas, a migration's BEGIN and COMMIT) fails with
 * SQLite's message alone, no `errcode`: such a failure got the advice for a file of unknown
 * fault, "move it away (everyone signs in again)", for a lock held during a migration or a disk
 * full.
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { resultCode, SessionFileError, SQLITE } from "../../../src/sessions/sqlite_file.ts";

/** What `exec` of BEGIN IMMEDIATE throws while another connection holds the write lock. */
function lockedExecError(path: string): Error {
  const holder = new DatabaseSync(path);
  const asker = new DatabaseSync(path);
  try {
    holder.exec("BEGIN IMMEDIATE");
    asker.exec("PRAGMA busy_timeout = 0");
    try {
      asker.exec("BEGIN IMMEDIATE");
    } catch (error) {
      return error as Error;
    }
    throw new Error("BEGIN IMMEDIATE was not refused");
  } finally {
    asker.close();
    holder.close();
  }
}

Deno.test("a lock held while the start runs an exec'd statement is told as held by another process, not as a file to move away", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite-result-code-" });
  try {
    const error = lockedExecError(`${dir}/sessions.db`);
    assertEquals(resultCode(error), SQLITE.BUSY);
    const advice = new SessionFileError(`${dir}/sessions.db`, error).advice(`${dir}/sessions.db`);
    assertStringIncludes(advice, "another process held a lock on it");
    assert(!advice.includes("move it away"), advice);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resultCode() reads errcode's primary code first, then SQLite's own text, else nothing", () => {
  const withCode = Object.assign(new Error("whatever"), { errcode: 13 | (3 << 8) });
  assertEquals(resultCode(withCode), SQLITE.FULL);
  assertEquals(resultCode(new Error("database or disk is full")), SQLITE.FULL);
  assertEquals(resultCode(new Error("disk I/O error")), SQLITE.IOERR);
  assertEquals(resultCode(new Error("file is not a database")), SQLITE.NOTADB);
  assertEquals(resultCode(new Error('near "x": syntax error')), undefined);
  assertEquals(resultCode(undefined), undefined);
});

Deno.test("a refusal of unknown cause gets no advice to move the file away", () => {
  const advice = new SessionFileError("/s.db", new Error("something else")).advice("/s.db");
  assert(!advice.includes("move it away"), advice);
  assertStringIncludes(advice, "SQLite's error above");
});
