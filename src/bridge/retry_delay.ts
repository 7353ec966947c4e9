/**
 * How long the bridge waits before trying again what the session store failed (Redis
 * restarting, a busy file): a second after the first failure, twice as long after each one in
 * a row, at most a minute. A blip costs a second; a store down for an hour is asked once a
 * minute, not flooded. For DISCONNECTs (disconnect_retries.ts) and the check of which clients
 * are gone after a link-up (server_link.ts).
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { getLogger } from "../log.ts";

const log = getLogger("sessions");

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 60_000;

/** The wait after `failures` failures in a row (1 for the first). */
export function retryDelayMs(failures: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1));
}

/** What a pass of RetryPasses did: whether anything failed again, and whether any is left. */
export interface PassOutcome {
  failed: boolean;
  left: boolean;
}

/**
 * The timer of a queue of store work tried again in passes (DisconnectRetries,
 * RevocationRetries): one pass at a time, the next after retryDelayMs of the passes in a row in
 * which something failed, none once closed.
 */
export class RetryPasses {
  readonly #pass: () => Promise<PassOutcome>;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #failedPasses = 0;
  #running = false;
  #closed = false;

  constructor(pass: () => Promise<PassOutcome>, clock: Clock) {
    this.#pass = pass;
    this.#clock = clock;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A pass is due: armed unless one is armed or running (it arms the next itself). */
  arm(): void {
    if (this.#timer !== undefined || this.#running || this.#closed) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        void this.#run();
      },
      retryDelayMs(this.#failedPasses + 1),
      { keepAlive: false },
    );
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
  }

  async #run(): Promise<void> {
    this.#running = true;
    let outcome: PassOutcome;
    try {
      outcome = await this.#pass();
    } catch (error) {
      // A pass catches each item's failure; one that throws all the same (a bug, a give-up
      // callback failing) would have left #running set, and no pass was ever armed again.
      log.error("A retry pass failed; trying again: {error}", { error: String(error) });
      outcome = { failed: true, left: true };
    } finally {
      this.#running = false;
    }
    const { failed, left } = outcome;
    if (this.#closed) return;
    this.#failedPasses = failed ? this.#failedPasses + 1 : 0;
    if (left) this.arm();
  }
}
