/**
 * One service per session file. Two services on one file (say two units copied from one config
 * for two OpenVPN servers, both named "default") undo each other: each one's start ends the
 * sign-ins and bindings its own OpenVPN does not list, which are the other's, and neither
 * counts the other's sessions for max_per_user. So the service holds an exclusive SQLite lock
 * on `<path>.lock` while it runs. It is an OS file lock: it goes with the process, kill -9
 * included, so there is never a stale lock to clean up. Other programs (admin commands, the
 * store's worker threads) open the session file itself, not this one.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { namingFile, resultCode, SQLITE } from "./sqlite_file.ts";

/** Another process holds the owner lock: the one refusal the probe tells from the others. */
export class SessionFileInUseError extends Error {
  override readonly name = "SessionFileInUseError";
}

export interface OwnerLock {
  release(): void;
}

/** The owner lock file of the session file `path`. */
export function lockFileOf(path: string): string {
  return `${path}.lock`;
}

export function lockSessionFile(path: string): OwnerLock {
  const lockPath = lockFileOf(path);
  // Taken before the session file is opened (which creates a missing directory the same way):
  // a fresh sessions.path in a directory not made yet must start, not fail on the lock file.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  createLockFile(lockPath);
  chmodSync(lockPath, 0o600);
  const db = new DatabaseSync(lockPath);
  try {
    // No busy wait: a lock held by a running service is not let go in a few seconds.
    db.exec("PRAGMA busy_timeout = 0");
    // In rollback-journal mode (this file's) EXCLUSIVE takes the lock at BEGIN, write or not.
    // A prepared statement: its errors carry SQLite's `errcode` (exec's do not, on Deno).
    db.prepare("BEGIN EXCLUSIVE").run();
  } catch (error) {
    db.close();
    // Only SQLITE_BUSY is another holder: a lock file SQLite cannot write (a read-only
    // directory) or that is no database was told as one, and sent the operator after a
    // process that did not exist.
    if (resultCode(error) !== SQLITE.BUSY) {
      throw namingFile(lockPath, error);
    }
    throw new SessionFileInUseError(
      `Session file ${path} is in use by another openvpn-auth-oidc process (it holds ` +
        `${lockPath}): give each service its own sessions.path`,
      { cause: error },
    );
  }
  return {
    release() {
      if (!db.isOpen) return;
      db.exec("ROLLBACK");
      db.close();
    },
  };
}

/**
 * Creates the lock file, mode 0600, when it is missing, and opens nothing when it is there:
 * closing any descriptor of a file drops every POSIX lock this process holds on it, so an
 * open and close of a lock file this process already holds (a second store opened on the same
 * path in one process) let another process take it too. SQLite's own connections keep such
 * descriptors open until the lock is gone; this one would not.
 */
function createLockFile(lockPath: string): void {
  let fd: number;
  try {
    fd = openSync(lockPath, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    throw error;
  }
  closeSync(fd);
}
