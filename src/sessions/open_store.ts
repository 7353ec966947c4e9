/**
 * Chooses and opens the configured session store, and sweeps it on a timer. Stores keep no
 * timers of their own (nothing to leak in tests); whoever opens a store for a long-running
 * service starts the sweeper and stops it before closing the store.
 */
import { dirname } from "node:path";
import type { Clock, TimerHandle } from "../clock.ts";
import type { Secret } from "../config/secret.ts";
import type { ResolvedConfig } from "../config/types.ts";
import { getLogger, words } from "../log.ts";
import { MemoryStore } from "./memory_store.ts";
import { connectRedis, describeRedisUrl, parseRedisUrl } from "./redis_connection.ts";
import { RedisStore } from "./redis_store.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";
import { SqliteStore } from "./sqlite_store.ts";
import { SessionFileError } from "./sqlite_file.ts";
import { TokenCipher } from "./token_cipher.ts";
import { describeStep, WallOffset } from "../wall_offset.ts";
import type { SessionStore, SweptSessionsHandler } from "./types.ts";

const log = getLogger("sessions");

/**
 * `memory` ignores the key settings (tokens never leave the process); `file` and `redis` encrypt
 * refresh tokens (and, in Redis, pending logins' OAuth secrets) with `sessions.encryption_key`,
 * or a key derived from `httpSecret` when that is unset. Every bridge sharing one Redis needs
 * the same key.
 */
export async function openSessionStore(
  config: ResolvedConfig["sessions"],
  httpSecret: Secret,
  now: () => number = Date.now,
  /** The service's own store: a session file no other service may use meanwhile. */
  { owner = false }: { owner?: boolean } = {},
): Promise<SessionStore> {
  switch (config.backend) {
    case "memory":
      return new MemoryStore({ maxEntries: config.maxEntries, now });
    case "file": {
      const cipher = await TokenCipher.fromConfig(config.encryptionKey, httpSecret);
      try {
        return await SqliteStore.open({
          path: config.path,
          cipher,
          maxEntries: config.maxEntries,
          now,
          owner,
        });
      } catch (error) {
        throw namingSessionsPath(config.path, error);
      }
    }
    case "redis": {
      if (config.redis === undefined) {
        throw new Error("Invalid sessions: redis backend without url");
      }
      const cipher = await TokenCipher.fromConfig(config.encryptionKey, httpSecret);
      return await RedisStore.open({
        client: await connectRedis(config.redis),
        keyPrefix: config.redis.keyPrefix,
        cipher,
        maxEntries: config.maxEntries,
        now,
        description: sessionStoreWhere(config) ?? "redis",
      });
    }
  }
}

/**
 * Where the sessions of `config` are kept, for people: the file, or Redis's URL without its
 * credentials (describeRedisUrl); undefined for memory, which is nowhere else.
 */
export function sessionStoreWhere(config: ResolvedConfig["sessions"]): string | undefined {
  if (config.backend === "file") return config.path;
  if (config.backend !== "redis" || config.redis === undefined) return undefined;
  const address = parseRedisUrl(config.redis.url);
  return typeof address === "string" ? undefined : describeRedisUrl(address);
}

/**
 * The file system refusing the session file, its lock file or their directory (the runtime's
 * error, with a `syscall`: EACCES, ENOTDIR, EROFS, ...) as an error naming sessions.path and the
 * fix: the start said no more than `EACCES: permission denied, mkdir '...'`. SQLite refusing
 * the file or its lock file (SessionFileError) the same way, with the likely cause: it said
 * `Session file ...: file is not a database`, naming neither the setting nor what to do. The
 * store's own refusals (a lock another service holds, a key mismatch) name their file and pass
 * unchanged.
 */
function namingSessionsPath(path: string, error: unknown): unknown {
  if (error instanceof SessionFileError) {
    // SQLite refused the file or the lock file (not a database, damaged, read-only).
    const file = error.file === path ? "" : `its lock file ${error.file}: `;
    return new Error(
      `Session store cannot use sessions.path ${path}: ${file}${(error.cause as Error).message}; ` +
        error.advice(path),
      { cause: error },
    );
  }
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  if (!(error instanceof Error) || typeof code !== "string" || typeof syscall !== "string") {
    return error;
  }
  return new Error(
    `Session store cannot use sessions.path ${path}: ${error.message}; the service creates it ` +
      `and its lock, -wal and -shm files in ${dirname(path)}, which must be a directory the ` +
      "service user can write (systemd: StateDirectory=), or set sessions.path to a file in one",
    { cause: error },
  );
}

/**
 * `sessions.sweep_interval`: not 0 (a sweep in a loop), and within what a timer can wait
 * (beyond ~24.8 days both runtimes fire it at once, in a loop).
 */
export const SWEEP_INTERVAL_LIMITS_MS = { min: 100, max: 86_400_000 } as const;

/**
 * A wall clock step between two sweeps that is warned about. Slewing moves the wall clock at
 * most 0.5 ms a second against the monotonic one: 43 s over the longest sweep interval.
 */
const WALL_STEP_WARNING_MS = 60_000;

/**
 * Calls `store.sweep(clock.now(), onSwept)` every `intervalMs` until the returned function is
 * called. The timer does not keep the process alive; the next sweep is timed from the end of
 * the last (`onSwept` included), so sweeps never overlap; a failed sweep is logged and the next
 * one tried as usual. A sweep under way when it is stopped fails at debug level only: the store
 * closes under it.
 *
 * Expiries are wall times (they outlive the process and are shared by a cluster), so a step of
 * the wall clock stretches every session (back) or ends those due within it at once, their
 * refresh tokens revoked (forward). Nothing can tell a stepped expiry from a real one; a step
 * of more than WALL_STEP_WARNING_MS since the last sweep is warned about before the sweep.
 */
export function startSweeper(
  store: Pick<SessionStore, "sweep">,
  intervalMs: number,
  clock: Clock,
  onSwept?: SweptSessionsHandler,
): () => void {
  if (
    !(intervalMs >= SWEEP_INTERVAL_LIMITS_MS.min && intervalMs <= SWEEP_INTERVAL_LIMITS_MS.max)
  ) {
    throw new RangeError(`Invalid session sweep interval: ${intervalMs} ms`);
  }
  let timer: TimerHandle | undefined;
  let stopped = false;
  const wallOffset = new WallOffset(clock);
  const sweep = async () => {
    warnOfWallStep(wallOffset);
    try {
      const removed = await store.sweep(clock.now(), onSwept);
      if (removed.pending + removed.sessions > 0) {
        log.debug("Swept {pending} pending logins and {sessions} sessions", { ...removed });
      }
    } catch (error) {
      if (stopped) {
        log.debug("Session sweep ended by the stop: {error}", { error: String(error) });
        return;
      }
      // An unreachable shared store is an outage (already reported once by its connection).
      if (error instanceof StoreUnavailableError) {
        log.warning("Session sweep skipped: {error}", { error: error.message });
      } else {
        log.error("Session sweep failed: {error}", { error });
      }
    }
    if (!stopped) timer = clock.setTimeout(sweep, intervalMs, { keepAlive: false });
  };
  timer = clock.setTimeout(sweep, intervalMs, { keepAlive: false });
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}

function warnOfWallStep(wallOffset: WallOffset): void {
  const { ahead, previousAhead } = wallOffset.read();
  const step = ahead - previousAhead;
  if (Math.abs(step) <= WALL_STEP_WARNING_MS) return;
  log.warning(
    "The system clock stepped {step} since the last session sweep: sessions expire by the wall " +
      "clock, so {effect}. Keep it synchronised (NTP) from boot: see the README's clock section",
    {
      step: words(describeStep(step)),
      effect: words(
        step > 0
          ? "those with less than that left end now, their refresh tokens revoked"
          : "each lasts that much longer",
      ),
    },
  );
}
