/**
 * The store could not be asked or did not answer in time (a shared store's server is down,
 * restarting or slow). Callers fail closed: a new sign-in is denied with a reason that says so
 * (bridge/denial.ts STORE_UNAVAILABLE); only a REAUTH may fall back to what this process knows
 * (`sessions.store_unreachable`).
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}
