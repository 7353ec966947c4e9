/**
 * Room in the file store under `max_entries`: the row counts of its two tables, kept in step
 * with its writes so that a put need not count a table, and recounted (then swept) only when a
 * table looks full, since another process may write the file too.
 */
import type { prepareStatements } from "./sqlite_statements.ts";
import { StoreFullReporter } from "./store_full.ts";
import type { StoreTable } from "./types.ts";

export class SqliteRoom {
  /** Rows per table as far as this store knows; the store reports its writes. */
  #counts = { pending: 0, sessions: 0 };
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #full: StoreFullReporter;

  constructor(sql: ReturnType<typeof prepareStatements>, maxEntries: number, now: () => number) {
    this.#sql = sql;
    this.#maxEntries = maxEntries;
    this.#now = now;
    this.#full = new StoreFullReporter(now);
    this.recount();
  }

  /** Whether `table` has room for a new row by the counts kept (no query). */
  hasRoom(table: StoreTable): boolean {
    return this.#counts[table] < this.#maxEntries;
  }

  /** The store wrote a new row into `table`. */
  added(table: StoreTable): void {
    this.#counts[table]++;
  }

  /** The store deleted `rows` rows from `table`. */
  removed(table: StoreTable, rows: number): void {
    this.#counts[table] -= rows;
  }

  /**
   * Before a put of `key`: whether it is a new row (false: it replaces one). A new row into a
   * full table first sweeps expired rows; still full, it throws `StoreFullError`.
   */
  makeRoom(table: StoreTable, key: string): boolean {
    const exists = table === "pending" ? this.#sql.pendingExists : this.#sql.sessionExists;
    if (exists.get(key) !== undefined) return false;
    if (this.hasRoom(table)) return true;
    // The counts may be stale (another process writes too): count for real before refusing.
    this.recount();
    if (this.hasRoom(table)) return true;
    (table === "pending" ? this.#sql.sweepPending : this.#sql.sweepSessions).run(this.#now());
    this.recount();
    if (!this.hasRoom(table)) throw this.#full.reject(table, this.#maxEntries);
    return true;
  }

  recount(): void {
    this.#counts = {
      pending: Number(this.#sql.countPending.get()?.["n"]),
      sessions: Number(this.#sql.countSessions.get()?.["n"]),
    };
  }
}
