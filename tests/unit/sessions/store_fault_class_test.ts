/**
 * Which store faults count as the store unavailable for the moment (StoreUnavailableError: the
 * client denied saying so, a revocation kept) and which stay errors: Redis replies by their code,
 * SQLite errors by their `errcode`. The real faults (a demoted redis-server, a file locked by
 * another connection) are in tests/integration/bridge/redis_readonly_test.ts and
 * tests/unit/bridge/revocation_store_fault_test.ts.
 */
import { ReplyError } from "ioredis";
import { assert, assertEquals, assertMatch } from "../../support/assert.ts";
import { classifyRedisError, reconnectOnReadOnly } from "../../../src/sessions/redis_connection.ts";
import { classifySqliteError } from "../../../src/sessions/sqlite_file.ts";
import { storeClosedError } from "../../../src/sessions/store_closed.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";

/** How Redis 6 wraps the error of a call inside a Lua script (Redis 7 passes the code on). */
function inScript(reply: string): string {
  return `ERR Error running script (call to f_3ac7e20d2d7d4a465700ceb6ce3dff2c6c23e248): ` +
    `@user_script:9: @user_script: 9: -${reply}`;
}

const READONLY = "READONLY You can't write against a read only replica.";
const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

Deno.test("classifyRedisError() takes a write refused for the moment (READONLY, OOM, NOREPLICAS) for an unavailable store, as it does LOADING, BUSY and MASTERDOWN", () => {
  for (
    const reply of [
      READONLY,
      `${READONLY} script: 3ac7e20d2d7d4a465700ceb6ce3dff2c6c23e248, on @user_script:9.`,
      inScript(READONLY),
      OOM,
      inScript(OOM),
      "NOREPLICAS Not enough good replicas to write.",
      "LOADING Redis is loading the dataset in memory",
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
      "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    ]
  ) {
    const cause = new ReplyError(reply);
    const classified = classifyRedisError(cause);
    assert(classified instanceof StoreUnavailableError, reply);
    assertEquals(classified.message, `Session store unreachable: redis: ${reply}`);
    assertEquals(classified.cause, cause);
  }
});

Deno.test("classifyRedisError() leaves a reply that no wait mends as it is (a wrong key type, a script's own error)", () => {
  for (
    const reply of [
      "WRONGTYPE Operation against a key holding the wrong kind of value",
      inScript("WRONGTYPE Operation against a key holding the wrong kind of value"),
      "ERR Error running script (call to f_1): @user_script:3: user_script:3: bad argument",
      "ERR unknown command 'READONLY'",
      "NOSCRIPT No matching script. Please use EVAL.",
    ]
  ) {
    const error = new ReplyError(reply);
    assertEquals(classifyRedisError(error), error, reply);
  }
});

Deno.test("reconnectOnReadOnly() reconnects on READONLY alone, without sending the command again", () => {
  assertEquals(reconnectOnReadOnly(new ReplyError(READONLY)), true);
  assertEquals(reconnectOnReadOnly(new ReplyError(inScript(READONLY))), true);
  for (const reply of [OOM, "LOADING Redis is loading", "WRONGTYPE Operation", "ERR READONLY"]) {
    assertEquals(reconnectOnReadOnly(new ReplyError(reply)), false, reply);
  }
});

/** An error as node:sqlite throws it from a statement (Deno and Bun alike). */
function sqliteError(errcode: number, message: string): Error {
  return Object.assign(new Error(message), {
    code: "ERR_SQLITE_ERROR",
    errcode,
    errstr: message,
  });
}

Deno.test("classifySqliteError() takes a file SQLite cannot use for the moment (busy, locked, read-only, I/O error, full, cannot open) for an unavailable store, by its result code", () => {
  const cases: Array<[number, string, string]> = [
    [5, "database is locked", "SQLITE_BUSY"],
    [6, "database table is locked", "SQLITE_LOCKED"],
    [8, "attempt to write a readonly database", "SQLITE_READONLY"],
    // SQLITE_READONLY_DBMOVED: the extended code's low byte is the primary one.
    [8 | (4 << 8), "attempt to write a readonly database", "SQLITE_READONLY"],
    [10 | (3 << 8), "disk I/O error", "SQLITE_IOERR"],
    [13, "database or disk is full", "SQLITE_FULL"],
    [14, "unable to open database file", "SQLITE_CANTOPEN"],
  ];
  for (const [errcode, message, name] of cases) {
    const cause = sqliteError(errcode, message);
    const classified = classifySqliteError("/var/lib/s.db", cause);
    assert(classified instanceof StoreUnavailableError, `${errcode}`);
    assertMatch(
      classified.message,
      new RegExp(`^Session store unavailable: /var/lib/s\\.db: .*${name}`),
    );
    assertEquals(classified.cause, cause);
  }
});

Deno.test("classifySqliteError() leaves a damaged file, a refused statement and every other error as they are", () => {
  const errors = [
    sqliteError(11, "database disk image is malformed"),
    sqliteError(26, "file is not a database"),
    sqliteError(19, "UNIQUE constraint failed: sessions.session_id"),
    // No errcode (Deno's exec()): not told by the message.
    Object.assign(new Error("database is locked"), { code: "ERR_SQLITE_ERROR" }),
    new Error("database is locked"),
    storeClosedError("sqlite"),
    new TypeError("Invalid session"),
  ];
  for (const error of errors) assertEquals(classifySqliteError("s.db", error), error);
});
