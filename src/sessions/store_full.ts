import { getLogger } from "../log.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import type { StoreTable } from "./types.ts";

const log = getLogger("sessions");

/**
 * A put of a new entry found its table at `maxEntries` even after removing expired entries.
 * Callers should deny the login (fail closed) rather than retry.
 */
export class StoreFullError extends Error {
  override readonly name = "StoreFullError";
  readonly table: StoreTable;
  readonly maxEntries: number;

  constructor(table: StoreTable, maxEntries: number) {
    super(`Session store full: ${table} holds its maximum of ${maxEntries} entries`);
    this.table = table;
    this.maxEntries = maxEntries;
  }
}

/**
 * Builds StoreFullErrors and logs a warning at most once a minute per store, so that a flood of
 * connection attempts cannot flood the log as well.
 */
export class StoreFullReporter {
  readonly #warning: WarningInterval;

  constructor(now: () => number) {
    this.#warning = new WarningInterval(WARNING_INTERVAL_MS, now);
  }

  reject(table: StoreTable, maxEntries: number): StoreFullError {
    if (this.#warning.due() !== undefined) {
      log.warn("Session store full: rejecting new {table} entries at {maxEntries}", {
        table,
        maxEntries,
      });
    }
    return new StoreFullError(table, maxEntries);
  }
}

/** What every store is bounded and timed by. */
export interface StoreBounds {
  /**
   * Bound on the number of entries, applied to pending logins and to sessions separately, so
   * that a flood of unfinished logins cannot keep established sessions from being stored.
   */
  maxEntries: number;
  now?: () => number;
}

export function checkMaxEntries(maxEntries: number): number {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`Invalid session store size bound: ${maxEntries}`);
  }
  return maxEntries;
}
