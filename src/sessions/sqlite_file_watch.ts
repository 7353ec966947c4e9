/**
 * Whether the session file and its owner lock file are still where the service found them.
 * Removed (`rm sessions.sqlite*`) or replaced (`mv`, a restore) while the service runs, the
 * store's connection goes on writing the file it opened, which no one can open again: at the
 * next start every session was gone, and nothing had said so. A lock file removed or replaced
 * leaves the lock on a file no one else can reach: a second service on the same session file
 * then takes a lock of its own and starts (sqlite_owner.ts says what two services do).
 *
 * Looked at by each sweep (a stat of each file); told as an error at the first sweep that finds
 * it, then at most once per REPEAT_MS (debug in between), until the service is restarted.
 */
import { getLogger, words } from "../log.ts";
import { logDue, WarningInterval } from "../warning_interval.ts";
import { fileIdentity } from "./file_identity.ts";
import { lockFileOf } from "./sqlite_owner.ts";

/** How often a file still gone is told again at error level. */
const REPEAT_MS = 60_000;

const log = getLogger("sessions");

interface Watched {
  readonly path: string;
  readonly identity: string | undefined;
  readonly reported: WarningInterval;
  /** A log template: `{path}` is the session file, `{lockFile}` its lock file. */
  readonly message: string;
}

export class SessionFileWatch {
  readonly #path: string;
  readonly #file: Watched;
  readonly #lock: Watched | undefined;

  /** Notes the files as they are now: call right after opening (and locking) `path`. */
  constructor(path: string, { locked }: { locked: boolean }, now = () => performance.now()) {
    this.#path = path;
    this.#file = {
      path,
      identity: fileIdentity(path),
      reported: new WarningInterval(REPEAT_MS, now),
      message: "Session file {path} was removed or replaced while the service runs: the " +
        "service still writes the file it opened, which is lost when it stops, and every " +
        "session written from now on with it; restore the file, or restart the service",
    };
    const lockFile = lockFileOf(path);
    this.#lock = locked
      ? {
        path: lockFile,
        identity: fileIdentity(lockFile),
        reported: new WarningInterval(REPEAT_MS, now),
        message: "Lock file {lockFile} was removed or replaced while the service runs: the " +
          "service no longer keeps others off {path}, and a second service can start on it " +
          "(each ending the other's sessions); restart the service to lock it again",
      }
      : undefined;
  }

  /** The session file's device and inode at opening (file_identity.ts). */
  get identity(): string | undefined {
    return this.#file.identity;
  }

  /**
   * Stats both files, telling (see the header) each that is not what it was; returns whether
   * the session file is.
   */
  check(): boolean {
    if (this.#lock !== undefined) this.#report(this.#lock);
    return this.#report(this.#file);
  }

  /** Whether `watched` is still at its path; if not, says so (an error, at most once a while). */
  #report(watched: Watched): boolean {
    let now: string | undefined;
    try {
      now = fileIdentity(watched.path);
    } catch {
      // A stat that fails (EACCES on the directory, EIO) proves nothing: the sweep fails too.
      return true;
    }
    if (now !== undefined && now === watched.identity) return true;
    const fields = {
      path: this.#path,
      lockFile: lockFileOf(this.#path),
      found: words(now === undefined ? "removed" : "replaced"),
    };
    logDue(watched.reported, log, "error", `${watched.message} ({found})`, fields);
    return false;
  }
}
