/**
 * How long the bridge waits before trying again what the session store failed (Redis
 * restarting, a busy file): a second after the first failure, twice as long after each one in
 * a row, at most a minute. A blip costs a second; a store down for an hour is asked once a
 * minute, not flooded. For DISCONNECTs (disconnect_retries.ts) and the check of which clients
 * are gone after a link-up (server_link.ts).
 */

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60_000;

/** The wait after `failures` failures in a row (1 for the first). */
export function retryDelayMs(failures: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1));
}
