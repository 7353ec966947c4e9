/**
 * The store could not be asked or did not answer in time (a shared store's server is down,
 * restarting or slow). Callers fail closed: a new sign-in is denied with a reason that says so;
 * only a REAUTH may fall back to what this process knows (`sessions.store_unreachable`).
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/** What a client denied for this reason is told, and what the log says. */
export const STORE_UNAVAILABLE = {
  code: "store_unavailable",
  reason: "session store unreachable",
  clientReason: "Sign-in is unavailable right now; try again in a minute.",
} as const;
