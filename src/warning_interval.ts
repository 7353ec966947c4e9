/**
 * A warning given at most once per interval: what happens in between is counted and told with
 * the next one. A flood (connection attempts at a full store, revocations the IdP cannot take)
 * then costs the log a line a minute instead of a line each.
 *
 * `now` may be the wall clock: a time before the last warning (the clock was stepped back) makes
 * the next one due, or a step back of an hour would hide a flood for that hour.
 */
/** How often a flood is warned about: a line a minute, with the count of what came between. */
export const WARNING_INTERVAL_MS = 60_000;

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

/** The levels of a logger logDue writes at (LogTape's Logger has them). */
interface LevelLogger {
  debug(message: string, properties: Record<string, unknown>): void;
  info(message: string, properties: Record<string, unknown>): void;
  warning(message: string, properties: Record<string, unknown>): void;
  error(message: string, properties: Record<string, unknown>): void;
}

/**
 * Writes `message` at `level` when `interval` says it is due (with how many were not, after the
 * first of a flood), at debug in between: a line a minute for a flood, none of it lost at debug.
 */
export function logDue(
  interval: WarningInterval,
  log: LevelLogger,
  level: "info" | "warning" | "error",
  message: string,
  properties: Record<string, unknown>,
): void {
  const more = interval.due();
  if (more === undefined) log.debug(message, properties);
  else if (more === 0) log[level](message, properties);
  else log[level](`${message} ({more} more since the last)`, { ...properties, more });
}
