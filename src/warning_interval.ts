/**
 * A warning given at most once per interval: what happens in between is counted and told with
 * the next one. A flood (connection attempts at a full store, revocations the IdP cannot take)
 * then costs the log a line a minute instead of a line each.
 *
 * `now` may be the wall clock: a time before the last warning (the clock was stepped back) makes
 * the next one due, or a step back of an hour would hide a flood for that hour.
 */
export class WarningInterval {
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastAt = -Infinity;
  #skipped = 0;

  constructor(intervalMs: number, now: () => number) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * For one occurrence: how many were not warned about since the last warning, when this one is
   * to be warned about; undefined (and counted) while the interval runs.
   */
  due(): number | undefined {
    const now = this.#now();
    const elapsed = now - this.#lastAt;
    if (elapsed >= 0 && elapsed < this.#intervalMs) {
      this.#skipped++;
      return undefined;
    }
    const skipped = this.#skipped;
    this.#lastAt = now;
    this.#skipped = 0;
    return skipped;
  }
}
