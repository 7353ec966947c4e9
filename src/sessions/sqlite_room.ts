/**
 * Room in the file store under `max_entries`: the row counts of its two tables, kept in step
 * with its writes so that a put need not count a table, and recounted (then swept) only when a
 * table looks full, since another process may write the file too. A sweep recounts only when
 * another connection committed since the last count (`PRAGMA data_version`): counting a table
 * of a million sessions held the event loop for 11-15 ms.
 */
import { removableBefore } from "./pending_grace.ts";
import type { prepareStatements } from "./sqlite_statements.ts";
import { StoreFullReporter } from "./store_full.ts";
import { SWEEP_BATCH } from "./sqlite_sweep.ts";
import type { StoreTable } from "./types.ts";

export class SqliteRoom {
  /** Rows per table as far as this store knows; the store reports its writes. */
  #counts = { pending: 0, sessions: 0 };
  /** `PRAGMA data_version` when the tables were last counted. */
  #countedAt = -1;
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
   * full table first removes up to SWEEP_BATCH expired rows (pending logins only once their
   * grace is over too: pending_grace.ts); still full, it throws `StoreFullError`. Sessions
   * removed so are not handed on as a sweep's are (SessionStore.sweep): their refresh tokens
   * are left to expire at the IdP.
   */
  makeRoom(table: StoreTable, key: string): boolean {
    const exists = table === "pending" ? this.#sql.pendingExists : this.#sql.sessionExists;
    if (exists.get(key) !== undefined) return false;
    if (this.hasRoom(table)) return true;
    // The counts may be stale if another process wrote (an admin command): count for real
    // before refusing, but only then: a flood of CONNECTs into a full table counted both
    // tables once per refused put.
    this.settle();
    if (this.hasRoom(table)) return true;
    // Room for one row: one batch of expired rows is enough, and it bounds how long this put
    // holds the event loop however many have expired since the last sweep. The counts were
    // just taken, so what the batch removed is all that changed.
    const sweepBatch = table === "pending"
      ? this.#sql.sweepPendingBatch
      : this.#sql.sweepSessionsBatch;
    const before = removableBefore(table, this.#now());
    this.removed(table, Number(sweepBatch.run(before, SWEEP_BATCH).changes));
    if (!this.hasRoom(table)) throw this.#full.reject(table, this.#maxEntries);
    return true;
  }

  /** After a sweep (its deletes reported): counts for real only if another process wrote. */
  settle(): void {
    if (this.#dataVersion() !== this.#countedAt) this.recount();
  }

  recount(): void {
    this.#countedAt = this.#dataVersion();
    this.#counts = {
      pending: Number(this.#sql.countPending.get()?.["n"]),
      sessions: Number(this.#sql.countSessions.get()?.["n"]),
    };
  }

  #dataVersion(): number {
    return Number(this.#sql.dataVersion.get()?.["data_version"]);
  }
}
