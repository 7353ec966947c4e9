/**
 * Calls back when pending logins expire, with one timer for the whole queue: every login gets
 * the same timeout, so they expire in the order they were created, and a CONNECT storm costs
 * no timer per client. A reload that shortens `auth_pending_timeout` breaks that order for a
 * while: such an entry is put in its place, so it is not kept waiting behind the longer ones.
 */
import type { Clock, TimerHandle } from "../clock.ts";

export interface Expiring {
  expiresAt: number;
}

export class ExpiryQueue<T extends Expiring> {
  readonly #onExpire: (entry: T) => void;
  readonly #clock: Clock;
  #queue: T[] = [];
  #head = 0;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(onExpire: (entry: T) => void, clock: Clock) {
    this.#onExpire = onExpire;
    this.#clock = clock;
  }

  /** Appended when it expires last, as nearly every entry does; else put in its place. */
  add(entry: T): void {
    if (this.#closed) return;
    const last = this.#queue[this.#queue.length - 1];
    if (
      last === undefined || this.#queue.length === this.#head || last.expiresAt <= entry.expiresAt
    ) {
      this.#queue.push(entry);
    } else {
      this.#insert(entry);
    }
    // Timers can be late (a busy loop, a suspended host): what is already due goes now, so the
    // queue never holds more than one timeout's worth of logins.
    const head = this.#queue[this.#head]!;
    if (head.expiresAt <= this.#clock.now()) {
      this.#clock.clearTimeout(this.#timer);
      this.#fire();
    } else if (this.#timer === undefined) {
      this.#arm();
    }
  }

  /** Into its place among the entries still queued (after those expiring at the same time). */
  #insert(entry: T): void {
    let low = this.#head;
    let high = this.#queue.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#queue[middle]!.expiresAt <= entry.expiresAt) low = middle + 1;
      else high = middle;
    }
    this.#queue.splice(low, 0, entry);
    // The new head: the timer armed for the old one would fire too late.
    if (low === this.#head && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  get size(): number {
    return this.#queue.length - this.#head;
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
  }

  #arm(): void {
    const next = this.#queue[this.#head];
    if (next === undefined) return;
    this.#timer = this.#clock.setTimeout(
      () => this.#fire(),
      Math.max(0, next.expiresAt - this.#clock.now()),
    );
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.expiresAt <= now) {
      this.#onExpire(this.#queue[this.#head++]!);
    }
    // Drop the consumed front now and then, so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    if (!this.#closed) this.#arm();
  }
}
