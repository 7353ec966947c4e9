/**
 * How long a session's key outlives its expiry in Redis (redis_store.ts), and what that asks of
 * `sessions.sweep_interval`. A sweep removes an expired session's index entries (its client's
 * binding, its subject, sid and user name) with it, reading them from its key: a key that Redis
 * dropped by its TTL first leaves them behind for good, and a server's bindings index, written
 * at every sign-in, never runs out. A pending login's key outlives its deadline by the grace
 * every store keeps (PENDING_GRACE_MS, pending_grace.ts).
 */
import type { SettingsProblem } from "./redis_connection.ts";

/** How long a session's key outlives its expiry, for the sweep to remove its index entries. */
export const SESSION_GRACE_MS = 60 * 60_000;

/**
 * The longest sweep interval the grace allows: two sweeps within it, so that one that failed
 * (Redis away a moment) still leaves another before the keys go.
 */
const REDIS_SWEEP_INTERVAL_MAX_MS = SESSION_GRACE_MS / 2;

/** `sessions.sweep_interval` with the Redis backend; config validation asks it. */
export function checkRedisSweepInterval(sweepIntervalMs: number): SettingsProblem[] {
  if (sweepIntervalMs <= REDIS_SWEEP_INTERVAL_MAX_MS) return [];
  return [{
    path: "sessions.sweep_interval",
    message: `Expected at most ${REDIS_SWEEP_INTERVAL_MAX_MS / 60_000}m with the redis backend: ` +
      `an expired session's key is kept ${SESSION_GRACE_MS / 60_000}m for a sweep to remove ` +
      `its index entries`,
  }];
}
