/**
 * Calls back when pending logins expire, with one timer for the whole queue, so a CONNECT storm
 * costs no timer per client. Every login gets the same timeout, so nearly all of them expire in
 * the order they were created; a reload that shortens `auth_pending_timeout` breaks that order for
 * a while, as every login begun after it expires before all those begun earlier.
 *
 * So the queue is a binary heap (soonest first), not a sorted array: an entry that expires last,
 * as nearly every one does, is added with one comparison, and one that goes ahead of the others
 * in O(log n). A sorted array put each of those in its place with a splice that moved every later
 * entry: 100,000 sign-ins after such a reload, with 100,000 waiting, blocked the event loop for
 * about a second (over ten on a cold Deno); the heap takes tens of milliseconds. Taking the
 * soonest out costs O(log n) as well, about 0.15 µs per expired login.
 */
import { type Clock, MAX_TIMER_DELAY_MS, type TimerHandle } from "../clock.ts";

export interface Expiring {
  expiresAt: number;
}

export class ExpiryQueue<T extends Expiring> {
  readonly #onExpire: (entry: T) => void;
  readonly #clock: Clock;
  /** A min-heap by expiry, then by the order added: entries that expire at once go in order. */
  #heap: T[] = [];
  /** The order each entry in #heap was added in (a parallel array: no wrapper per entry). */
  #order: number[] = [];
  #added = 0;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(onExpire: (entry: T) => void, clock: Clock) {
    this.#onExpire = onExpire;
    this.#clock = clock;
  }

  add(entry: T): void {
    if (this.#closed) return;
    const soonest = this.#push(entry) === 0;
    // Timers can be late (a busy loop, a suspended host): what is already due goes now, so the
    // queue never holds more than one timeout's worth of logins.
    if (this.#heap[0]!.expiresAt <= this.#clock.now()) this.#fire();
    // The timer armed for the entry it goes ahead of would fire too late.
    else if (soonest || this.#timer === undefined) this.#arm();
  }

  get size(): number {
    return this.#heap.length;
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap = [];
    this.#order = [];
  }

  /**
   * Arms the one timer for the soonest entry, in place of any armed before. Expiry is on the
   * wall clock (`expiresAt` is stored and shared), so an entry made while the clock was a month
   * ahead is a month out once it is set right: the timer is then cut to the limit, fires with
   * nothing due and is armed again, once every 24.8 days, instead of every millisecond.
   */
  #arm(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#heap[0];
    if (next === undefined) return;
    this.#timer = this.#clock.setTimeout(
      () => this.#fire(),
      Math.min(MAX_TIMER_DELAY_MS, Math.max(0, next.expiresAt - this.#clock.now())),
    );
  }

  #fire(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#clock.now();
    // Taken out before the callback: one that adds or closes finds the queue as it is.
    while (this.#heap.length > 0 && this.#heap[0]!.expiresAt <= now) this.#onExpire(this.#pop());
    // Emptied: the arrays go, so a storm's worth of capacity is not kept for good.
    if (this.#heap.length === 0) {
      this.#heap = [];
      this.#order = [];
    }
    if (!this.#closed) this.#arm();
  }

  /** Adds `entry` and returns where it ended up (0: it is the soonest now). */
  #push(entry: T): number {
    const heap = this.#heap;
    const order = this.#order;
    const added = this.#added++;
    let at = heap.length;
    // Added last, so among entries that expire at the same time it stays behind each of them.
    while (at > 0) {
      const parent = (at - 1) >>> 1;
      if (heap[parent]!.expiresAt <= entry.expiresAt) break;
      heap[at] = heap[parent]!;
      order[at] = order[parent]!;
      at = parent;
    }
    heap[at] = entry;
    order[at] = added;
    return at;
  }

  /** Takes out the soonest entry; the heap must not be empty. */
  #pop(): T {
    const heap = this.#heap;
    const order = this.#order;
    const soonest = heap[0]!;
    const last = heap.pop()!;
    const lastAdded = order.pop()!;
    const size = heap.length;
    if (size === 0) return soonest;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && this.#before(child + 1, child)) child++;
      const next = heap[child]!;
      if (
        next.expiresAt > last.expiresAt ||
        (next.expiresAt === last.expiresAt && order[child]! > lastAdded)
      ) break;
      heap[at] = next;
      order[at] = order[child]!;
      at = child;
    }
    heap[at] = last;
    order[at] = lastAdded;
    return soonest;
  }

  /** Whether the entry at heap index `a` expires before the one at `b`. */
  #before(a: number, b: number): boolean {
    const first = this.#heap[a]!.expiresAt;
    const second = this.#heap[b]!.expiresAt;
    return first < second || (first === second && this.#order[a]! < this.#order[b]!);
  }
}
