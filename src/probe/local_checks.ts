/**
 * `check-config --probe` for what the service opens at start besides its listeners: the session
 * store (the file's directory, files and owner lock, or Redis with its credentials) and the
 * control socket's directory. The service does not start without them, and did not say which
 * config key was at fault (a bare `EACCES: permission denied, mkdir '...'`), while the probe
 * passed. Pure: local_probe.ts looks, this file judges; every message names the key to change.
 */
import { credentialsFix, credentialsRefusal } from "../sessions/redis_connection.ts";
import type { RedisInfo } from "../sessions/redis_info.ts";
import {
  MEMORY_POLICY_FIX,
  memoryPolicy,
  memoryPolicyProblem,
  uncheckedPolicyNote,
} from "../sessions/redis_memory_policy.ts";
import { PERSISTENCE_FIX, persistenceRisk } from "../sessions/redis_persistence.ts";
import { likelyCause, SQLITE } from "../sessions/sqlite_file.ts";
import { newerSchemaRefusal } from "../sessions/sqlite_schema.ts";
import { type CheckResult, fail, pass, warn } from "./checks.ts";

/** Whether this user can make files in a directory the service writes to, or create it. */
export type DirectoryAccess =
  /** It exists and this user may create files in it. */
  | { kind: "writable" }
  /** It is missing, and this user may create it in `parent`, its nearest existing ancestor. */
  | { kind: "creatable"; parent: string }
  /** `at` (the directory itself, or its nearest existing ancestor) is no directory. */
  | { kind: "not-directory"; at: string }
  /**
   * This user may not create files in `at` (the directory, or when it is `missing` its nearest
   * existing ancestor) or not even look into it: `code` (EACCES, EROFS, ...) says why.
   */
  | { kind: "denied"; at: string; missing: boolean; code: string };

/** What is wrong with `dir` for a service that must create files in it; undefined: nothing. */
function directoryProblem(dir: string, access: DirectoryAccess): string | undefined {
  switch (access.kind) {
    case "writable":
    case "creatable":
      return undefined;
    case "not-directory":
      return access.at === dir
        ? `${dir} is not a directory`
        : `${dir} cannot be created: ${access.at} is not a directory`;
    case "denied":
      return access.missing
        ? `${dir} does not exist, and this user cannot create it in ${access.at} (${access.code})`
        : `this user cannot create files in ${dir} (${access.code})`;
  }
}

function directoryFound(dir: string, access: DirectoryAccess): string {
  return access.kind === "creatable"
    ? `${dir} does not exist yet; this user can create it in ${access.parent}`
    : `this user can create files in ${dir}`;
}

/** What the probe found of the file store (`sessions.backend = "file"`). */
export interface SessionFileState {
  readonly path: string;
  readonly directory: string;
  readonly directoryAccess: DirectoryAccess;
  /** The file the owner lock is taken on (sqlite_owner.ts). */
  readonly lockFile: string;
  /** Existing files of the store this user cannot read and write, and the error why. */
  readonly unusable: readonly { file: string; code: string }[];
  /**
   * The session file does not begin with SQLite's header (and is longer than SQLite counts as
   * empty): the service's start refuses it ("file is not a database"). The lock is not tried.
   */
  readonly notDatabase: boolean;
  /** The file begins with SQLite's header, the rest of which SQLite refuses: it is damaged. */
  readonly damaged?: boolean;
  /** The schema version in the file's header, when newer than this program's (SCHEMA_VERSION). */
  readonly newerSchema?: number | undefined;
  /**
   * The owner lock: taken and let go again ("free"), held by a running service ("held"), no
   * lock file yet ("absent": the service makes it), not tried (a problem above stops the
   * service first), or the error taking it gave.
   */
  readonly lock: { kind: "free" | "held" | "absent" | "not-tried" } | {
    kind: "failed";
    message: string;
    /** The start's advice for SQLite's refusal of the lock file (SessionFileError.advice). */
    advice: string | undefined;
  };
}

/**
 * The service opens the session file, its lock file and SQLite's -wal and -shm files in
 * sessions.path's directory at start, and takes the lock: a directory it cannot write, a file it
 * cannot use, or a lock another service holds stops it. A held lock is fine when the running
 * service (http.listen) holds it.
 */
export function sessionFileCheck(state: SessionFileState, serviceRunning: boolean): CheckResult {
  const check = "session store";
  const { path, directory } = state;
  const useDirectory = `The service creates ${path}, ${state.lockFile} and SQLite's -wal and ` +
    `-shm files in ${directory}: make it a directory the service user can write (the ` +
    "package's /var/lib/openvpn-auth-oidc is one), or set sessions.path to a file in one.";
  const problem = directoryProblem(directory, state.directoryAccess);
  if (problem !== undefined) return fail(check, `sessions.path ${path}: ${problem}`, useDirectory);
  if (state.unusable.length > 0) {
    const files = state.unusable.map(({ file, code }) => `${file} (${code})`).join(", ");
    return fail(
      check,
      `sessions.path ${path}: this user cannot read and write ${files}`,
      "Give the service user the store's files (the package's user is openvpn-auth-oidc), or " +
        "set sessions.path to a new file.",
    );
  }
  if (state.notDatabase) {
    // In the words of the start's refusal (SessionFileError).
    return fail(
      check,
      `sessions.path ${path}: file is not a database (it does not begin with SQLite's header); ` +
        "the service does not start with it",
      sentence(likelyCause(SQLITE.NOTADB, directory)),
    );
  }
  if (state.damaged) {
    return fail(
      check,
      `sessions.path ${path}: file is not a database (SQLite's header, damaged); the service ` +
        "does not start with it",
      sentence(likelyCause(SQLITE.CORRUPT, directory)),
    );
  }
  if (state.newerSchema !== undefined) {
    return fail(
      check,
      `sessions.path ${path}: ${newerSchemaRefusal(path, state.newerSchema)}; the service ` +
        "does not start with it",
      "Run the program that wrote it, or set sessions.path to a new file.",
    );
  }
  const lock = state.lock;
  if (lock.kind === "failed") {
    return fail(
      check,
      `sessions.path ${path}: the owner lock on ${state.lockFile} cannot be taken: ${lock.message}`,
      lock.advice === undefined
        ? "Give the service user the store's files, or set sessions.path to a new file."
        : sentence(lock.advice),
    );
  }
  if (lock.kind === "held") {
    if (serviceRunning) {
      return pass(check, `${path} is in use by the running service (it holds ${state.lockFile})`);
    }
    return fail(
      check,
      `sessions.path ${path} is in use by another openvpn-auth-oidc process (it holds ` +
        `${state.lockFile}), while the service of this config does not hold http.listen`,
      "Give each service its own sessions.path, or stop the other one.",
    );
  }
  const found = directoryFound(directory, state.directoryAccess);
  return pass(
    check,
    `${path}: ${found}` + (lock.kind === "free" ? `; the owner lock can be taken` : ""),
  );
}

/** How connecting to `sessions.url` went, with the store's own connection code. */
export type RedisOutcome =
  /** Connected, authenticated, in the URL's database, and PING answered. */
  | { kind: "ready" }
  /**
   * `message` as the connection gave it; `replyCode`: the first word of a reply Redis refused
   * with (NOAUTH, WRONGPASS, NOPERM, ERR), none when it could not be asked at all.
   */
  | { kind: "failed"; message: string; replyCode: string | undefined };

export interface RedisTarget {
  /** `redis://host:port/db`, no credentials. */
  readonly where: string;
  /** sessions.username, or the URL's user. */
  readonly username: string | undefined;
  readonly hasPassword: boolean;
}

/**
 * The service connects to Redis at start (connect, authenticate, select the database, answer)
 * and does not start when it cannot. A refusal of the credentials gets the fix the start's own
 * error gives (credentialsFix), naming the keys; not "unreachable".
 */
export function redisCheck(target: RedisTarget, outcome: RedisOutcome): CheckResult {
  const check = "session store";
  if (outcome.kind === "ready") {
    const as = target.username === undefined ? "" : ` as ${target.username}`;
    return pass(check, `${target.where}: connected${as}, database selected, PING answered`);
  }
  const detail = `${target.where}: ${outcome.message}`;
  const refusal = credentialsRefusal(outcome.replyCode);
  if (refusal !== undefined) {
    return fail(check, detail, `${credentialsFix(refusal, target.username)}.`);
  }
  if (outcome.replyCode !== undefined) {
    return fail(
      check,
      detail,
      "Check sessions.url (its database must exist on the server, and an ACL user needs the " +
        "right to select it).",
    );
  }
  return fail(
    check,
    detail,
    "Start Redis, or set sessions.url to where it listens, and check the firewall between (for " +
      "rediss://: a certificate signed by sessions.tls_ca_file, or by a system CA, naming the " +
      "URL's host).",
  );
}

/**
 * The session store's check once connecting passed (`connected`), with Redis's INFO judged by
 * the rules the store's start applies: the start refuses a Redis that evicts
 * (redis_memory_policy.ts), so the probe fails it too, and warns when the policy could not be
 * read, or when a crash may undo the store's deletes (redis_persistence.ts).
 */
export function redisInfoCheck(
  connected: CheckResult,
  where: string,
  info: RedisInfo,
): CheckResult {
  const found = memoryPolicy(info);
  const problem = memoryPolicyProblem(found);
  if (problem !== undefined) {
    return fail(connected.check, `${where}: ${problem}`, sentence(MEMORY_POLICY_FIX));
  }
  if (found.kind === "unchecked") {
    return warn(
      connected.check,
      `${connected.detail}; ${uncheckedPolicyNote(found)}`,
      "Allow the ACL user `info`, or make sure by hand that Redis has maxmemory-policy " +
        "noeviction (or no maxmemory).",
    );
  }
  const risk = persistenceRisk(info);
  if (risk !== undefined) {
    return warn(connected.check, `${connected.detail}; ${risk}`, sentence(PERSISTENCE_FIX));
  }
  return connected;
}

/** What the probe found at control.socket. */
export interface ControlSocketState {
  readonly socket: string;
  readonly directory: string;
  readonly directoryAccess: DirectoryAccess;
  /** Why the service refuses the directory (control/server.ts), when it exists and does. */
  readonly unsafe: string | undefined;
  /** What is at the socket's path now. */
  readonly existing: "none" | "socket" | "other";
}

/**
 * The packaged unit's RuntimeDirectory=: systemd makes it at each start and removes it at each
 * stop, so a probe before the start (as README says to run it) finds it missing.
 */
const PACKAGED_RUNTIME_DIRECTORY = "/run/openvpn-auth-oidc";

/**
 * The service makes control.socket's directory (0750) and the socket last at start, after it
 * connected to OpenVPN, and stops when it cannot: a restart loop that holds OpenVPN's
 * management interface each time.
 */
export function controlSocketCheck(state: ControlSocketState): CheckResult {
  const check = "control socket";
  const { socket, directory } = state;
  const elsewhere = `set control.socket to a path in a directory the service user can write ` +
    `("" turns the socket off)`;
  const problem = directoryProblem(directory, state.directoryAccess);
  if (problem !== undefined) {
    const access = state.directoryAccess;
    if (directory === PACKAGED_RUNTIME_DIRECTORY && access.kind === "denied" && access.missing) {
      return warn(
        check,
        `control.socket ${socket}: ${problem}; the packaged unit's RuntimeDirectory= makes it ` +
          "at each start",
        `Started in any other way, the service cannot start: create ${directory} for the ` +
          `service user, or ${elsewhere}.`,
      );
    }
    return fail(
      check,
      `control.socket ${socket}: ${problem}`,
      `The service creates the socket there at start and does not start without it: make ` +
        `${directory} a directory the service user can write (systemd: RuntimeDirectory=), or ` +
        `${elsewhere}.`,
    );
  }
  if (state.unsafe !== undefined) {
    return fail(
      check,
      `control.socket ${socket}: the service refuses ${directory}: ${state.unsafe}`,
      `Make ${directory} writable by its owner only (chmod 0750), owned by root or the service ` +
        `user, or ${elsewhere}.`,
    );
  }
  if (state.existing === "other") {
    return fail(
      check,
      `control.socket ${socket} exists and is not a socket`,
      `Remove it, or ${elsewhere}.`,
    );
  }
  const there = state.existing === "socket"
    ? " (a socket is there: the running service's, or one a killed service left, which the " +
      "service replaces)"
    : "";
  return pass(check, `${socket}: ${directoryFound(directory, state.directoryAccess)}${there}`);
}

/** The start's advice (one line, no final period) as the fix's sentence. */
function sentence(advice: string): string {
  return `${advice.charAt(0).toUpperCase()}${advice.slice(1)}.`;
}
