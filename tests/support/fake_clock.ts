/**
 * A Clock for tests: time stands still until the test moves it, and timers fire (in due order,
 * synchronously) only inside `advance()`/`set()`. Nothing waits for wall time. `monotonic()`
 * follows the timers from 0; `stepWall()` moves `now()` alone, as chrony stepping the clock does.
 *
 * @example
 * ```ts
 * const clock = new FakeClock(1000);
 * clock.setTimeout(() => console.log("fired"), 50);
 * clock.advance(50); // prints "fired"
 * ```
 */
import type { Clock, TimerHandle } from "../../src/clock.ts";

/** More timers than any test arms for one instant: past it, a callback is re-arming itself. */
const MAX_FIRINGS_AT_ONE_INSTANT = 100_000;

interface FakeTimer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  /** Where the timers are: the wall time, but for any `stepWall`. */
  #time: number;
  readonly #start: number;
  #wallStep = 0;
  #nextId = 1;
  #timers = new Map<number, FakeTimer>();

  constructor(start = 1_800_000_000_000) {
    this.#time = start;
    this.#start = start;
  }

  /** The wall time; assign to jump there without firing timers (a paused process). */
  get time(): number {
    return this.now();
  }

  set time(value: number) {
    this.#time = value - this.#wallStep;
  }

  /** How many timers are armed and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** The delays of the timers armed so far, in the order they were set. */
  readonly delays: number[] = [];

  now = (): number => this.#time + this.#wallStep;

  monotonic = (): number => this.#time - this.#start;

  /** Steps the wall clock by `ms` (back if negative); timers and `monotonic()` do not move. */
  stepWall(ms: number): void {
    this.#wallStep += ms;
  }

  setTimeout = (callback: () => void, ms: number): TimerHandle => {
    const id = this.#nextId++;
    this.delays.push(ms);
    this.#timers.set(id, { id, at: this.#time + Math.max(0, ms), callback });
    return id as unknown as TimerHandle;
  };

  clearTimeout = (handle: TimerHandle | undefined): void => {
    if (handle !== undefined) this.#timers.delete(handle as unknown as number);
  };

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.now() + ms);
  }

  /** Moves the wall time to `wallTarget`, firing due timers in order (and those they set, if due). */
  advanceTo(wallTarget: number): void {
    const target = wallTarget - this.#wallStep;
    let instant = Number.NaN;
    let firedAtInstant = 0;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.at <= target && (next === undefined || timer.at < next.at)) next = timer;
      }
      if (next === undefined) break;
      // A callback that arms a timer for the instant it runs at (a 0 ms timer over something it
      // never takes as due) would keep this loop, and the test, spinning for ever: fail instead.
      firedAtInstant = next.at === instant ? firedAtInstant + 1 : 1;
      instant = next.at;
      if (firedAtInstant > MAX_FIRINGS_AT_ONE_INSTANT) {
        throw new Error(
          `FakeClock: over ${MAX_FIRINGS_AT_ONE_INSTANT} timers fired at ${instant} without time moving on: a timer re-arms itself for now`,
        );
      }
      this.#timers.delete(next.id);
      this.#time = Math.max(this.#time, next.at);
      next.callback();
    }
    this.#time = Math.max(this.#time, target);
  }
}
