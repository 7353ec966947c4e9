/**
 * A Clock for tests: time stands still until the test moves it, and timers fire (in due order,
 * synchronously) only inside `advance()`/`set()`. Nothing waits for wall time.
 *
 * @example
 * ```ts
 * const clock = new FakeClock(1000);
 * clock.setTimeout(() => console.log("fired"), 50);
 * clock.advance(50); // prints "fired"
 * ```
 */
import type { Clock, TimerHandle } from "../../src/clock.ts";

interface FakeTimer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  #time: number;
  #nextId = 1;
  #timers = new Map<number, FakeTimer>();

  constructor(start = 1_800_000_000_000) {
    this.#time = start;
  }

  /** The current time; assign to jump there without firing timers (a suspended host). */
  get time(): number {
    return this.#time;
  }

  set time(value: number) {
    this.#time = value;
  }

  /** How many timers are armed and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** The delays of the timers armed so far, in the order they were set. */
  readonly delays: number[] = [];

  now = (): number => this.#time;

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
    this.advanceTo(this.#time + ms);
  }

  /** Moves time to `target`, firing due timers in order (timers they set fire too if due). */
  advanceTo(target: number): void {
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.at <= target && (next === undefined || timer.at < next.at)) next = timer;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#time = Math.max(this.#time, next.at);
      next.callback();
    }
    this.#time = Math.max(this.#time, target);
  }
}
