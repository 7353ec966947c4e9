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
];

/** The indexed expressions; queries must repeat them exactly for SQLite to use the indexes. */
export const SESSION_SID = "json_extract(data, '$.sid')";
export const SESSION_SUBJECT = "json_extract(data, '$.subject')";
export const SESSION_USERNAME = "json_extract(data, '$.username')";

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get();
  return Number(row?.["user_version"] ?? 0);
}

/**
 * Brings the file to SCHEMA_VERSION. Runs under an immediate (write) transaction and re-reads
 * the version inside it, so two processes opening a new file at once migrate it only once.
 */
export function migrate(db: DatabaseSync, path: string): void {
  const refuseNewer = (version: number) => {
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `Session store schema is newer than this program: ${path} has version ${version}, ` +
          `this program knows up to ${SCHEMA_VERSION}; upgrade the program or move the file away`,
      );
    }
  };
  refuseNewer(userVersion(db));
  if (userVersion(db) === SCHEMA_VERSION) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    const found = userVersion(db);
    refuseNewer(found);
    for (let version = found; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version] ?? "");
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}
