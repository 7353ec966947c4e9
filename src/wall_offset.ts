/**
 * How far the wall clock is ahead of the monotonic one, and how far that moved since the last
 * reading. Durations on this host run on the monotonic clock; what is stored or shared (session
 * expiries, sign-in stamps) runs on the wall clock, which NTP, chrony or an admin can step, and
 * which runs on while a suspended host's monotonic clock stands still. A change of the offset is
 * such a step; slewing moves it by at most 0.5 ms a second.
 */
import type { Clock } from "./clock.ts";
import { formatDuration } from "./config/duration.ts";

export interface WallReading {
  /** `clock.now()`. */
  wall: number;
  /** `clock.monotonic()`, read with it. */
  monotonic: number;
  /** `wall - monotonic` now. */
  ahead: number;
  /** `wall - monotonic` at the previous reading (at construction for the first). */
  previousAhead: number;
}

export class WallOffset {
  readonly #clock: Pick<Clock, "now" | "monotonic">;
  #ahead: number;

  constructor(clock: Pick<Clock, "now" | "monotonic">) {
    this.#clock = clock;
    this.#ahead = clock.now() - clock.monotonic();
  }

  /** Reads both clocks; the next reading compares with this one. */
  read(): WallReading {
    const wall = this.#clock.now();
    const monotonic = this.#clock.monotonic();
    const ahead = wall - monotonic;
    const previousAhead = this.#ahead;
    this.#ahead = ahead;
    return { wall, monotonic, ahead, previousAhead };
  }
}

/** "forward 1d", "back 1h30m": a step of `ms` (negative: back), to the second. */
export function describeStep(ms: number): string {
  const size = formatDuration(Math.round(Math.abs(ms) / 1000) * 1000);
  return `${ms < 0 ? "back" : "forward"} ${size}`;
}
