/**
 * Opening the file store's SQLite file: private file modes, WAL, schema migration.
 *
 * Durability: WAL with `synchronous=NORMAL`. A committed write survives the process dying at any
 * point, `kill -9` included (tested); an OS crash or power loss may roll back the last
 * transactions before the next checkpoint. FULL would fsync every commit, which made a login's
 * CONNECT and every reconnect wait on the disk. What a lost transaction can do: a session
 * deleted just before a power loss comes back until it expires; the client it belonged to was
 * denied or killed at OpenVPN all the same, and must present OpenVPN's token to use it again.
 *
 * Checkpoints run at each sweep and whenever the WAL grows past WAL_LIMIT, off the event loop
 * (see `configure`).
 *
 * Sharing: `busy_timeout` lets a second process (an admin command) read and write the file
 * while the service runs. The sqlite calls are synchronous, so a wait for that other process's
 * lock blocks this one's event loop for at most BUSY_TIMEOUT_MS; keep admin transactions short.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { getLogger } from "../log.ts";
import { readSqliteHeader, type SqliteHeader } from "./sqlite_header.ts";
import { migrate, SCHEMA_VERSION } from "./sqlite_schema.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";
import { checkWalLimit, WAL_LIMIT } from "./wal_size_watch.ts";

const log = getLogger("sessions");

/** How long a statement waits for another connection's lock (admin command, checkpoint). */
export const BUSY_TIMEOUT_MS = 5_000;
const FILE_MODE = 0o600;
/** The `code` of node:sqlite's errors (Deno and Bun alike). */
const SQLITE_ERROR = "ERR_SQLITE_ERROR";
/** SQLite's primary result codes this store tells apart. */
export const SQLITE = {
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  NOTADB: 26,
} as const;
/**
 * SQLite's primary result codes for a file it cannot use for the moment: locked by another
 * connection past busy_timeout (BUSY, LOCKED), a full disk (FULL), a file or file system gone
 * read-only (READONLY), a failing or vanished disk (IOERR, CANTOPEN). Not a damaged file
 * (CORRUPT, NOTADB): that stays an error.
 */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  SQLITE.BUSY,
  SQLITE.LOCKED,
  SQLITE.READONLY,
  SQLITE.IOERR,
  SQLITE.FULL,
  SQLITE.CANTOPEN,
]);
/** SQLite's own name of each code in SQLITE ("SQLITE_BUSY" for 5), for log lines. */
const CODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(SQLITE).map(([name, code]) => [code, `SQLITE_${name}`]),
);

/**
 * Opens (creating when missing, mode 0600), configures and migrates the file. `walLimit` is the
 * size the WAL file is cut back to once a checkpoint has emptied it (wal_size_watch.ts).
 */
export function openDatabaseFile(path: string, walLimit = WAL_LIMIT): DatabaseSync {
  createPrivateFile(path);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    configure(db, path, walLimit);
    migrateFile(db, path);
    restrictSidecarFiles(path);
    return db;
  } catch (error) {
    db?.close();
    throw namingFile(path, error);
  }
}

/**
 * SQLite refused a file of the store (the session file, or its lock file): `file`, SQLite's
 * error the cause. A class so that the service's start can add the setting and the likely cause
 * (open_store.ts) without reading them back out of the message.
 */
export class SessionFileError extends Error {
  override readonly name = "SessionFileError";
  readonly file: string;

  constructor(file: string, cause: Error) {
    super(`Session file ${file}: ${cause.message}`, { cause });
    this.file = file;
  }

  /**
   * What most likely made SQLite refuse the file, and what to do, in one line (no final
   * period), told by its primary result code; `path`: sessions.path, whose lock file this
   * may be. A lock file that is no database or is damaged holds no session: it is to be
   * removed, not the sessions with it (the session file's advice would send the operator to
   * a new sessions.path, every session left behind).
   */
  advice(path: string): string {
    const code = resultCode(this.cause);
    if (this.file !== path && (code === SQLITE.NOTADB || code === SQLITE.CORRUPT)) {
      return `with no service running on ${path}, remove ${this.file} (the service makes it ` +
        "again; the sessions are kept)";
    }
    // SQLite's magic with a header it refuses: the store's own file, damaged, not another
    // program's (whose advice sent the operator to another file, every session left behind).
    if (code === SQLITE.NOTADB && headerKind(path) === "damaged") {
      return likelyCause(SQLITE.CORRUPT, dirname(path));
    }
    return likelyCause(code, dirname(path));
  }
}

/** readSqliteHeader's verdict, or undefined when the file cannot be read. */
function headerKind(path: string): SqliteHeader["kind"] | undefined {
  try {
    return readSqliteHeader(path).kind;
  } catch {
    return undefined;
  }
}

/**
 * SQLite's own text for each primary result code a start tells apart (sqlite3ErrStr's, fixed
 * since SQLite 3.6), for an error that carries no code: on Deno, a statement run with `exec`
 * (the start's pragmas, its migrations' BEGIN and COMMIT) fails with SQLite's message alone,
 * where a prepared statement's error has `errcode` too.
 */
const RESULT_TEXTS: ReadonlyMap<string, number> = new Map([
  ["database is locked", SQLITE.BUSY],
  ["database table is locked", SQLITE.LOCKED],
  ["attempt to write a readonly database", SQLITE.READONLY],
  ["disk I/O error", SQLITE.IOERR],
  ["database disk image is malformed", SQLITE.CORRUPT],
  ["database or disk is full", SQLITE.FULL],
  ["unable to open database file", SQLITE.CANTOPEN],
  ["file is not a database", SQLITE.NOTADB],
]);

/**
 * The primary result code of a node:sqlite error: its `errcode`'s low byte, else the code of
 * SQLite's own text for it (RESULT_TEXTS); undefined when it has neither.
 */
export function resultCode(error: unknown): number | undefined {
  const { errcode, message } = (error ?? {}) as { errcode?: unknown; message?: unknown };
  if (typeof errcode === "number") return errcode & 0xff;
  return typeof message === "string" ? RESULT_TEXTS.get(message) : undefined;
}

/**
 * SessionFileError.likelyCause by SQLite's primary result code (undefined when it is not
 * known): exported so that `check-config --probe`, which finds a file SQLite would refuse
 * without opening it, tells it in the start's words. An unknown cause gets no advice: moving
 * the file away (everyone signs in again) is right for a damaged file only, and a disk full or
 * a lock held during a migration had been sent there.
 */
export function likelyCause(code: number | undefined, directory: string): string {
  return (code === undefined ? undefined : LIKELY_CAUSES.get(code)?.(directory)) ??
    "SQLite's error above says why; the file was left as it was";
}

/** By SQLite's primary result code: why a file of the store is refused at start. */
const LIKELY_CAUSES = new Map<number, (directory: string) => string>([
  [SQLITE.BUSY, heldByAnother],
  [SQLITE.LOCKED, heldByAnother],
  [SQLITE.READONLY, writableDirectory],
  [SQLITE.CANTOPEN, writableDirectory],
  [SQLITE.IOERR, () => "the disk or file system failed (see the kernel log)"],
  [SQLITE.FULL, (directory) => `the file system of ${directory} is full: free some space`],
  [
    SQLITE.CORRUPT,
    () =>
      "the file is damaged: restore it from a backup, or move it away (everyone signs in again)",
  ],
  [
    SQLITE.NOTADB,
    () =>
      "the file is no SQLite database: sessions.path names another program's file; set it to " +
      "the service's own session file or to a new file",
  ],
]);

function heldByAnother(): string {
  return `another process held a lock on it past ${BUSY_TIMEOUT_MS / 1000} s (an admin ` +
    "command?): let it finish and start again";
}

function writableDirectory(directory: string): string {
  return `SQLite cannot write it or create its -wal and -shm files: ${directory} (a read-only ` +
    "file system, or a directory or file the service user may not write) must be writable by " +
    "the service user (systemd: StateDirectory=, ReadWritePaths=)";
}

/**
 * An error of SQLite's own ("file is not a database", "database disk image is malformed", "disk
 * I/O error") as a SessionFileError naming the file: a start refused with SQLite's words alone
 * did not say which file to look at. Other errors are returned as they are (the store's own
 * refusals name the file already).
 */
export function namingFile(path: string, error: unknown): unknown {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== SQLITE_ERROR) {
    return error;
  }
  return new SessionFileError(path, error);
}

/**
 * A statement's error as StoreUnavailableError when SQLite could not use the file for the moment
 * (UNAVAILABLE_CODES), the SQLite error its cause; anything else is returned as it is. Told by
 * `errcode`, which node:sqlite sets on a prepared statement's errors on Deno and Bun alike (the
 * store runs nothing else after opening); not by the message. The file store's one place for it.
 */
export function classifySqliteError(path: string, error: unknown): unknown {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  if (!(error instanceof Error) || code !== SQLITE_ERROR || typeof errcode !== "number") {
    return error;
  }
  const primary = errcode & 0xff;
  if (!UNAVAILABLE_CODES.has(primary)) return error;
  return new StoreUnavailableError(
    `Session store unavailable: ${path}: ${error.message} (${CODE_NAMES.get(primary)})`,
    { cause: error },
  );
}

function configure(db: DatabaseSync, path: string, walLimit: number): void {
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const mode = db.prepare("PRAGMA journal_mode = WAL").get()?.["journal_mode"];
  if (mode !== "wal") throw new Error(`Session store cannot use WAL mode: ${path} (got ${mode})`);
  db.exec("PRAGMA synchronous = NORMAL");
  // Checkpoints (the only fsyncs with NORMAL) run on a worker thread (wal_checkpoint.ts), at
  // each sweep and when the WAL outgrows WAL_LIMIT (wal_size_watch.ts), instead of every 1000
  // pages inside a commit, so no burst of CONNECTs is stalled by one. Closing the store
  // checkpoints too.
  db.exec("PRAGMA wal_autocheckpoint = 0");
  // Without a limit the WAL file keeps its largest size, even once emptied by a checkpoint.
  db.exec(`PRAGMA journal_size_limit = ${checkWalLimit(walLimit)}`);
}

/**
 * Brings an existing file to this program's schema. A migration may rewrite every row (versions
 * 2 to 4 took 3.1 s for 100,000 sessions and 45 s for 1,000,000 on the bench machine), all of it
 * into the WAL: that is folded back into the file at once, not left to the first sweep.
 */
function migrateFile(db: DatabaseSync, path: string): void {
  const started = performance.now();
  const found = migrate(db, path);
  if (found === undefined || found === 0) return;
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  log.info("Session file {path} migrated from schema version {from} to {to} in {ms} ms", {
    path,
    from: found,
    to: SCHEMA_VERSION,
    ms: Math.round(performance.now() - started),
  });
}

/**
 * Creates the file with mode 0600 before SQLite opens it (SQLite gives its -wal and -shm files
 * the database file's mode), and tightens an existing file that is more open than that.
 */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, "a", FILE_MODE));
  chmodSync(path, FILE_MODE);
}

/** Belt and braces: the sidecar files hold the same data as the database. */
function restrictSidecarFiles(path: string): void {
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(path + suffix)) chmodSync(path + suffix, FILE_MODE);
  }
}
