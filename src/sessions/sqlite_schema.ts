/**
 * The session file's schema. `PRAGMA user_version` holds how many migrations have run; each
 * migration brings the file from version i to i + 1 and is never edited once released (add a
 * new one instead). A file from a newer program is refused rather than guessed at.
 */
import type { DatabaseSync } from "node:sqlite";

/**
 * Times are milliseconds since the epoch. `data` holds the entry as JSON without its refresh
 * token; the token is only ever stored encrypted, in `refresh_token`.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;
  CREATE TABLE pending (
    id TEXT PRIMARY KEY,
    server TEXT NOT NULL,
    cid INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    data TEXT NOT NULL
  ) STRICT;
  CREATE INDEX pending_by_expiry ON pending (expires_at);
  CREATE INDEX pending_by_client ON pending (server, cid);
  CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    server TEXT NOT NULL,
    cid INTEGER,
    expires_at REAL NOT NULL,
    data TEXT NOT NULL,
    refresh_token BLOB
  ) STRICT;
  CREATE INDEX sessions_by_expiry ON sessions (expires_at);
  CREATE INDEX sessions_by_client ON sessions (server, cid);
  `,
  // Revocation (back-channel logout, admin commands, sessions per user) finds sessions by
  // these fields of `data`; expression indexes need no new columns and no backfill.
  `
  CREATE INDEX sessions_by_sid ON sessions (json_extract(data, '$.sid'));
  CREATE INDEX sessions_by_subject ON sessions (json_extract(data, '$.subject'));
  CREATE INDEX sessions_by_username ON sessions (json_extract(data, '$.username'));
  `,
  // The same three as columns of their own. SQLite re-evaluates an expression index on every
  // write of the column it reads: each write of `data` (a reconnect moving a session to a new
  // cid) parsed the JSON six times and rewrote three index entries (B5 on the file store: 63
  // -> 52 µs per reconnect; bench/README.md). The row's `data` stays the entry; the store
  // writes these from it in the same statement.
  `
  ALTER TABLE sessions ADD COLUMN sid TEXT;
  ALTER TABLE sessions ADD COLUMN subject TEXT;
  ALTER TABLE sessions ADD COLUMN username TEXT;
  UPDATE sessions SET sid = json_extract(data, '$.sid'),
    subject = json_extract(data, '$.subject'), username = json_extract(data, '$.username');
  DROP INDEX sessions_by_sid;
  DROP INDEX sessions_by_subject;
  DROP INDEX sessions_by_username;
  CREATE INDEX sessions_by_sid ON sessions (sid);
  CREATE INDEX sessions_by_subject ON sessions (subject);
  CREATE INDEX sessions_by_username ON sessions (username);
  `,
  // The live counts per server (the metrics' gauges) read the client indexes alone once they
  // hold the deadline too: a scrape counted 1,000,000 sessions in 1.3 s through the table, a
  // stall of the event loop, and in 0.1 s from the index (bench/README.md). A reconnect
  // rewrites its client index entry anyway, so this costs it nothing.
  `
  DROP INDEX sessions_by_client;
  CREATE INDEX sessions_by_client ON sessions (server, cid, expires_at);
  DROP INDEX pending_by_client;
  CREATE INDEX pending_by_client ON pending (server, cid, expires_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Why a file of a newer program's schema is refused: the start's error, and the probe's, which
 * reads the version from the file's header (sqlite_header.ts).
 */
export function newerSchemaRefusal(path: string, version: number): string {
  return `Session store schema is newer than this program: ${path} has version ${version}, ` +
    `this program knows up to ${SCHEMA_VERSION}; upgrade the program or move the file away`;
}

function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get();
  return Number(row?.["user_version"] ?? 0);
}

/**
 * Brings the file to SCHEMA_VERSION (`target`: an older version, for tests that make the file
 * of an earlier program). Runs under an immediate (write) transaction and re-reads the version
 * inside it, so two processes opening a new file at once migrate it only once. Returns the
 * version the file had when this call migrated it (0: a new file), else undefined.
 */
export function migrate(
  db: DatabaseSync,
  path: string,
  target = SCHEMA_VERSION,
): number | undefined {
  const refuseNewer = (version: number) => {
    if (version > SCHEMA_VERSION) throw new Error(newerSchemaRefusal(path, version));
  };
  refuseNewer(userVersion(db));
  if (userVersion(db) >= target) return undefined;
  db.exec("BEGIN IMMEDIATE");
  try {
    const found = userVersion(db);
    refuseNewer(found);
    const migrating = found < target;
    if (migrating) {
      for (let version = found; version < target; version++) {
        db.exec(MIGRATIONS[version] ?? "");
      }
      db.exec(`PRAGMA user_version = ${target}`);
    }
    db.exec("COMMIT");
    return migrating ? found : undefined;
  } catch (error) {
    throw rolledBack(db, error);
  }
}

/**
 * Ends the transaction in which `error` was thrown and returns `error`, to be thrown as it is.
 * SQLite has already rolled the whole transaction back itself after an I/O error, after a disk
 * full (SQLITE_FULL) and when COMMIT failed: a ROLLBACK then fails with "cannot rollback - no
 * transaction is active", which would hide the error that says what went wrong (a disk full
 * during a migration). So it runs only while the transaction is still open; should it fail
 * anyway, its error becomes the cause of `error`, which stays the one reported.
 */
export function rolledBack(
  db: DatabaseSync,
  error: unknown,
  rollback: () => void = () => db.exec("ROLLBACK"),
): unknown {
  if (!db.isTransaction) return error;
  try {
    rollback();
  } catch (failure) {
    if (error instanceof Error && error.cause === undefined) error.cause = failure;
  }
  return error;
}
