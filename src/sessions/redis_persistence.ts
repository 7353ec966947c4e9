/**
 * Whether Redis keeps the store's deletes through a crash: the rule the store's start and
 * `check-config --probe` both apply, as a warning. A `sessions revoke`, a back-channel logout or
 * an admin's end of a session deletes its entry; without an append-only file (Debian's
 * redis.conf: `appendonly no`, with RDB save points) a Redis that crashes before its next RDB
 * save loads the last snapshot, in which that session is still there, and its client then
 * reconnects on its token without a browser. With `appendonly yes` and `appendfsync everysec`
 * a crash loses at most about a second of writes.
 */
import { getLogger, words } from "../log.ts";
import type { RedisInfo } from "./redis_info.ts";

const log = getLogger("sessions");

/** What to change (no final period). */
export const PERSISTENCE_FIX = "set appendonly yes and appendfsync everysec in Redis's " +
  "configuration (a crash then loses at most about 1 s of deletes)";

/**
 * The risk (no final period) when INFO says Redis keeps no append-only file; undefined when it
 * keeps one, or when INFO did not say (refused: the memory policy's warning tells of that).
 */
export function persistenceRisk(info: RedisInfo): string | undefined {
  if (info.kind !== "read" || info.values.get("aof_enabled") !== "0") return undefined;
  return "Redis keeps no append-only file (appendonly no): after a crash it loads its last RDB " +
    "snapshot, if any, and sessions revoked or logged out since then are back, their clients " +
    "reconnecting without a browser";
}

/** The start's warning, once. `where`: the URL without credentials. */
export function warnOfPersistence(info: RedisInfo, where: string): void {
  const risk = persistenceRisk(info);
  if (risk !== undefined) {
    log.warning("Session store {where}: {risk}; {fix}", {
      where,
      risk: words(risk),
      fix: words(PERSISTENCE_FIX),
    });
  }
}
