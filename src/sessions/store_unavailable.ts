/**
 * The store could not be asked, did not answer in time, or refused for the moment what it will
 * take again (a shared store's server down, restarting or slow; a Redis node demoted to a replica
 * by a failover, or out of memory; a session file locked by another process past busy_timeout, a
 * full disk, a file system gone read-only). Each store turns its own faults into this at its edge
 * (classifyRedisError, classifySqliteError). Callers fail closed: a new sign-in is denied with a
 * reason that says so (bridge/denial.ts STORE_UNAVAILABLE); only a REAUTH may fall back to what
 * this process knows (`sessions.store_unreachable`).
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}
