/**
 * The I/O half of local_checks.ts: looks at the session store's and the control socket's
 * directories and files as this user, reads the session file's first bytes, takes its owner lock
 * and lets it go at once with the store's own code, and connects to Redis with the store's own
 * connection code and reads its eviction policy and persistence.
 * Creates nothing: run as root (a common way to probe), a directory or lock file made here would
 * belong to root, and the service's user could not open it.
 */
import { accessSync, constants, lstatSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import type { RedisSettings, ResolvedConfig } from "../config/types.ts";
import { unsafeDirectoryProblem } from "../control/server.ts";
import {
  connectRedis,
  describeRedisUrl,
  parseRedisUrl,
  replyCode,
} from "../sessions/redis_connection.ts";
import { readRedisInfo, type RedisInfo } from "../sessions/redis_info.ts";
import { SessionFileError } from "../sessions/sqlite_file.ts";
import { readSqliteHeader, type SqliteHeader } from "../sessions/sqlite_header.ts";
import { SCHEMA_VERSION } from "../sessions/sqlite_schema.ts";
import { lockFileOf, lockSessionFile, SessionFileInUseError } from "../sessions/sqlite_owner.ts";
import type { CheckResult } from "./checks.ts";
import {
  controlSocketCheck,
  type ControlSocketState,
  type DirectoryAccess,
  redisCheck,
  redisInfoCheck,
  type RedisOutcome,
  sessionFileCheck,
  type SessionFileState,
} from "./local_checks.ts";
import { errorText } from "../error_text.ts";

/**
 * The checks of the session store (none for `memory`) and of control.socket (none when off).
 * `serviceRunning`: the running service holds http.listen, and so the session file's lock.
 */
export async function localChecks(
  config: ResolvedConfig,
  serviceRunning: boolean,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const sessions = config.sessions;
  if (sessions.backend === "file") {
    results.push(sessionFileCheck(probeSessionFile(sessions.path), serviceRunning));
  } else if (sessions.backend === "redis" && sessions.redis !== undefined) {
    const redis = sessions.redis;
    const address = parseRedisUrl(redis.url);
    const where = typeof address === "string" ? "sessions.url" : describeRedisUrl(address);
    const outcome = await probeRedis(redis);
    const connected = redisCheck({
      where,
      username: redis.username ?? (typeof address === "string" ? undefined : address.username),
      hasPassword: redis.password !== undefined,
    }, outcome);
    results.push(
      outcome.info === undefined ? connected : redisInfoCheck(connected, where, outcome.info),
    );
  }
  if (config.control.socket !== "") {
    results.push(controlSocketCheck(probeControlSocket(config.control.socket)));
  }
  return results;
}

/** Whether this user could create `dir` (with mkdir -p) and files in it. */
export function directoryAccess(dir: string): DirectoryAccess {
  const target = resolve(dir);
  for (let at = target;; at = dirname(at)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(at).isDirectory();
    } catch (error) {
      const code = errorCode(error);
      // Missing, or below a file: the one above tells (the root is always there).
      if ((code === "ENOENT" || code === "ENOTDIR") && dirname(at) !== at) continue;
      return { kind: "denied", at, missing: at !== target, code };
    }
    if (!isDirectory) return { kind: "not-directory", at };
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
    } catch (error) {
      return { kind: "denied", at, missing: at !== target, code: errorCode(error) };
    }
    return at === target ? { kind: "writable" } : { kind: "creatable", parent: at };
  }
}

/**
 * The file store as the service opens it: sessions.path's directory, the files there (the
 * session file, the lock file, SQLite's -wal and -shm), the session file's header (headerRefusal), and the owner
 * lock, taken only when its file exists (taking it creates the file otherwise, see the header).
 */
function probeSessionFile(path: string): SessionFileState {
  const directory = dirname(path);
  const lockFile = lockFileOf(path);
  const directoryAccessed = directoryAccess(directory);
  const state = {
    path,
    directory,
    directoryAccess: directoryAccessed,
    lockFile,
    notDatabase: false,
  };
  if (directoryAccessed.kind !== "writable") {
    return { ...state, unusable: [], lock: { kind: "not-tried" } };
  }
  const unusable: { file: string; code: string }[] = [];
  const present = new Set<string>();
  for (const file of [path, lockFile, `${path}-wal`, `${path}-shm`]) {
    try {
      if (!statSync(file).isFile()) {
        unusable.push({ file, code: "not a regular file" });
        continue;
      }
      present.add(file);
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT") unusable.push({ file, code });
    }
  }
  if (unusable.length > 0) return { ...state, unusable, lock: { kind: "not-tried" } };
  if (present.has(path)) {
    let header: SqliteHeader;
    try {
      header = readSqliteHeader(path);
    } catch (error) {
      const failed = [{ file: path, code: errorCode(error) }];
      return { ...state, unusable: failed, lock: { kind: "not-tried" } };
    }
    const refused = headerRefusal(header);
    if (refused) return { ...state, ...refused, unusable, lock: { kind: "not-tried" } };
  }
  if (!present.has(lockFile)) return { ...state, unusable, lock: { kind: "absent" } };
  try {
    lockSessionFile(path).release();
    return { ...state, unusable, lock: { kind: "free" } };
  } catch (error) {
    // Another holder, or a lock file that cannot be used (the runtime's error, or SQLite's:
    // a read-only directory, a file that is no database).
    if (error instanceof SessionFileInUseError) {
      return { ...state, unusable, lock: { kind: "held" } };
    }
    // SQLite's refusal gets the start's advice (a junk lock file is removed, the sessions kept).
    const advice = error instanceof SessionFileError ? error.advice(path) : undefined;
    return { ...state, unusable, lock: { kind: "failed", message: errorText(error), advice } };
  }
}

/**
 * What the service's start refuses in the session file's header (sqlite_header.ts): another
 * program's file, a damaged header, a schema newer than this program's (the start's migration
 * refuses it). What lies past the header (a damaged page) is left to the start, which names it.
 * The version is the one in the database file: a newer program's migration of an existing file
 * is checkpointed into it at once (sqlite_file.ts, migrateFile), but a file it has just created
 * shows version 0 until its first checkpoint (a sweep, or a clean stop): such a file, left by a
 * newer program that crashed at once, passes here and is refused by the start.
 */
function headerRefusal(
  header: SqliteHeader,
): Pick<SessionFileState, "notDatabase" | "damaged" | "newerSchema"> | undefined {
  if (header.kind === "foreign") return { notDatabase: true };
  if (header.kind === "damaged") return { notDatabase: false, damaged: true };
  if (header.kind === "database" && header.userVersion > SCHEMA_VERSION) {
    return { notDatabase: false, newerSchema: header.userVersion };
  }
  return undefined;
}

/**
 * Connect, authenticate and select the database as the service does at start, then PING, and
 * read the INFO the start judges (`info`, once ready).
 */
export async function probeRedis(
  settings: RedisSettings,
): Promise<RedisOutcome & { info?: RedisInfo }> {
  let client: Awaited<ReturnType<typeof connectRedis>> | undefined;
  try {
    client = await connectRedis(settings);
    await client.ping();
    return { kind: "ready", info: await readRedisInfo(client) };
  } catch (error) {
    // connectRedis wraps what failed (a refusal from Redis: a ReplyError; a socket's error) in
    // an error of its own with the URL: the probe names the URL itself.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const message = errorText(cause);
    const code = (cause as { name?: unknown })?.name === "ReplyError"
      ? replyCode(message)
      : undefined;
    return { kind: "failed", message, replyCode: code };
  } finally {
    client?.disconnect();
  }
}

function probeControlSocket(socket: string): ControlSocketState {
  const directory = dirname(socket);
  const access = directoryAccess(directory);
  let unsafe: string | undefined;
  if (access.kind === "writable") {
    const uid = process.geteuid?.();
    // Root probing on behalf of the service's user (a common way to run it) would be told that
    // the packaged directory, which that user owns, is not root's: the owner is judged only for
    // a probe as the user the service runs as.
    unsafe = unsafeDirectoryProblem(statSync(directory), uid === 0 ? undefined : uid);
  }
  let existing: ControlSocketState["existing"] = "none";
  try {
    existing = lstatSync(socket).isSocket() ? "socket" : "other";
  } catch {
    // Nothing there: the service makes the socket.
  }
  return { socket, directory, directoryAccess: access, unsafe, existing };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : errorText(error);
}
