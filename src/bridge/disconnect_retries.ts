/**
 * DISCONNECTs whose session could not be ended (the store failed: Redis restarting, a busy
 * file), tried again until they work. Lost, such a session stayed bound to a cid that OpenVPN
 * gives to another client later, kept its refresh token (re-checked and refreshed on), and
 * counted against max_per_user until it expired. Bounded: past MAX_HELD the oldest is dropped,
 * and one older than MAX_AGE_MS is given up (it is left to expire, as before).
 */
import type { Clock } from "../clock.ts";
import { type PassOutcome, RetryPasses } from "./retry_delay.ts";

export const MAX_HELD = 10_000;
export const MAX_AGE_MS = 3_600_000;

/** A client's DISCONNECT: its cid, and when it came (a later binding of the cid is not its). */
export interface Departure {
  cid: number;
  at: number;
}

/** `D`: what the caller keeps with each departure (client_events.ts: the run it came in). */
export class DisconnectRetries<D extends Departure = Departure> {
  readonly #end: (departure: D) => Promise<void>;
  readonly #clock: Clock;
  readonly #onGiveUp: (departure: D, why: "too old" | "too many") => void;
  #held: D[] = [];
  readonly #passes: RetryPasses;

  /** `end` ends the departed client's session; rejecting, it is tried again later. */
  constructor(
    end: (departure: D) => Promise<void>,
    clock: Clock,
    onGiveUp: (departure: D, why: "too old" | "too many") => void,
  ) {
    this.#end = end;
    this.#clock = clock;
    this.#onGiveUp = onGiveUp;
    this.#passes = new RetryPasses(() => this.#retry(), clock);
  }

  get size(): number {
    return this.#held.length;
  }

  add(departure: D): void {
    if (this.#passes.closed) return;
    this.#held.push(departure);
    if (this.#held.length > MAX_HELD) this.#onGiveUp(this.#held.shift()!, "too many");
    this.#passes.arm();
  }

  close(): void {
    this.#passes.close();
    this.#held = [];
  }

  /** One pass, oldest first; what fails again waits for a longer delay (retry_delay.ts). */
  async #retry(): Promise<PassOutcome> {
    const due = this.#held;
    this.#held = [];
    const failed: D[] = [];
    for (const departure of due) {
      if (this.#passes.closed) return { failed: false, left: false };
      if (this.#clock.now() - departure.at > MAX_AGE_MS) {
        this.#onGiveUp(departure, "too old");
        continue;
      }
      try {
        await this.#end(departure);
      } catch {
        failed.push(departure);
      }
    }
    if (this.#passes.closed) return { failed: false, left: false };
    // Added during the pass: after the ones that failed again, which are older.
    this.#held = [...failed, ...this.#held];
    return { failed: failed.length > 0, left: this.#held.length > 0 };
  }
}
