/**
 * Revocations the session store could not carry out (Redis restarting): a back-channel logout
 * or an admin's revoke, kept and tried again on the store retry schedule (retry_delay.ts) until
 * the store answers. Lost, a logout left its sessions in the store for good: Keycloak does not
 * send it again. Bounded: at most MAX_HELD (past it the oldest is given up), each for at most
 * `keepForMs` (sessions.lifetime: by then every session it could end has expired). One per key:
 * the same logout token sent again, or the same revoke asked again, is not kept twice.
 */
import type { Clock } from "../clock.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import { type PassOutcome, RetryPasses } from "./retry_delay.ts";

export const MAX_HELD = 10_000;

/** A kept revocation: what to carry out, and when it came (it is given up `keepForMs` after). */
export interface HeldRevocation<T> {
  key: string;
  at: number;
  what: T;
}

export type GiveUpReason = "too old" | "too many";

export class RevocationRetries<T> {
  readonly #carryOut: (held: HeldRevocation<T>) => Promise<void>;
  readonly #clock: Clock;
  readonly #keepForMs: number;
  readonly #onGiveUp: (held: HeldRevocation<T>, why: GiveUpReason) => void;
  /** By key, oldest first (a Map keeps insertion order). */
  readonly #held = new Map<string, HeldRevocation<T>>();
  readonly #passes: RetryPasses;

  /** `carryOut` ends the revocation's sessions; rejecting, it is tried again later. */
  constructor(
    carryOut: (held: HeldRevocation<T>) => Promise<void>,
    clock: Clock,
    keepForMs: number,
    onGiveUp: (held: HeldRevocation<T>, why: GiveUpReason) => void,
  ) {
    if (!Number.isSafeInteger(keepForMs) || keepForMs < 1) {
      throw new RangeError(`Invalid time to keep a revocation: ${keepForMs}`);
    }
    this.#carryOut = carryOut;
    this.#clock = clock;
    this.#keepForMs = keepForMs;
    this.#onGiveUp = onGiveUp;
    this.#passes = new RetryPasses(() => this.#retry(), clock);
  }

  get size(): number {
    return this.#held.size;
  }

  /** The revocation kept under `key`, if any. */
  get(key: string): HeldRevocation<T> | undefined {
    return this.#held.get(key);
  }

  /**
   * Keeps `held` until the store takes it. False when one is kept under its key already (that
   * one stays, with its time) or the retries are closed.
   */
  add(held: HeldRevocation<T>): boolean {
    if (this.#passes.closed || this.#held.has(held.key)) return false;
    this.#held.set(held.key, held);
    if (this.#held.size > MAX_HELD) {
      const oldest = this.#held.values().next().value!;
      this.#held.delete(oldest.key);
      this.#onGiveUp(oldest, "too many");
    }
    this.#passes.arm();
    return true;
  }

  /** Forgets the revocation kept under `key`: it was carried out some other way. */
  delete(key: string): void {
    this.#held.delete(key);
  }

  /** No more retries: returns what was still kept, now dropped. */
  close(): HeldRevocation<T>[] {
    this.#passes.close();
    const left = [...this.#held.values()];
    this.#held.clear();
    return left;
  }

  /**
   * One pass, oldest first. A store still unreachable ends the pass (the rest would only wait
   * for it too, each up to store_timeout); what fails waits for a longer delay (retry_delay.ts).
   */
  async #retry(): Promise<PassOutcome> {
    const now = this.#clock.now();
    for (const held of [...this.#held.values()]) {
      if (now - held.at <= this.#keepForMs) continue;
      this.#held.delete(held.key);
      this.#onGiveUp(held, "too old");
    }
    let failed = false;
    for (const held of [...this.#held.values()]) {
      if (this.#passes.closed) break;
      // Carried out otherwise (the IdP sent the token again) since the pass began.
      if (this.#held.get(held.key) !== held) continue;
      try {
        await this.#carryOut(held);
        if (this.#held.get(held.key) === held) this.#held.delete(held.key);
      } catch (error) {
        failed = true;
        if (error instanceof StoreUnavailableError) break;
      }
    }
    return { failed, left: this.#held.size > 0 };
  }
}
