/**
 * Keeps the session file's WAL from growing without bound between sweeps. The store's own
 * connection never checkpoints on its own (sqlite_file.ts), so before this the WAL held all that
 * was written since the last sweep: a put committed alone adds ~29 KB (the row and six index
 * pages), so 20,000 reconnects one per turn left a 650 MiB WAL, and the file kept that size
 * until the store closed (bench/README.md).
 *
 * After a write, at most once per CHECK_EVERY_MS, the WAL file's size is read. Past WAL_LIMIT a
 * checkpoint runs (wal_checkpoint.ts: on the worker, then the rest on this thread); the next
 * commit then starts the WAL over and cuts the file back to WAL_LIMIT (`journal_size_limit`).
 */
import { statSync } from "node:fs";
import { getLogger } from "../log.ts";

/** The WAL size that asks for a checkpoint, and the size it is cut back to afterwards. */
export const WAL_LIMIT = 16 * 1024 * 1024;
/** Reading the size costs a system call: a storm of writes reads it a few times a second. */
const CHECK_EVERY_MS = 250;

const log = getLogger("sessions");

/** A whole number of bytes (it is written into a PRAGMA). */
export function checkWalLimit(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Invalid WAL size limit: ${bytes} bytes`);
  }
  return bytes;
}

/** For tests: a smaller limit (the file store's journal_size_limit too), every write checked. */
export interface WalSizeWatchOptions {
  limitBytes?: number;
  checkEveryMs?: number;
}

export class WalSizeWatch {
  readonly #walPath: string;
  readonly #checkpoint: () => Promise<void>;
  readonly #limit: number;
  readonly #checkEveryMs: number;
  #checkedAt = -Infinity;
  /** A checkpoint asked by this watch is running: the next check waits for it. */
  #running = false;
  /** Failures are logged once until a checkpoint succeeds again (a storm checks 4 times/s). */
  #failing = false;

  /** `checkpoint` checkpoints the whole WAL (rejecting when it cannot). */
  constructor(dbPath: string, checkpoint: () => Promise<void>, options: WalSizeWatchOptions = {}) {
    this.#walPath = `${dbPath}-wal`;
    this.#checkpoint = checkpoint;
    this.#limit = checkWalLimit(options.limitBytes ?? WAL_LIMIT);
    this.#checkEveryMs = options.checkEveryMs ?? CHECK_EVERY_MS;
  }

  /** Called after each write; never throws (the write is committed, or failed on its own). */
  wrote(): void {
    if (this.#running) return;
    const now = performance.now();
    if (now - this.#checkedAt < this.#checkEveryMs) return;
    this.#checkedAt = now;
    let size: number;
    try {
      size = statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0;
    } catch (error) {
      this.#failed(`its size cannot be read: ${String(error)}`);
      return;
    }
    if (size <= this.#limit) return;
    this.#running = true;
    this.#checkpoint().then(
      () => (this.#failing = false),
      (error: Error) => this.#failed(`checkpoint failed: ${error.message}`),
    ).finally(() => (this.#running = false));
  }

  #failed(error: string): void {
    const level = this.#failing ? "debug" : "warning";
    this.#failing = true;
    log[level]("Cannot keep the session file's WAL under {limit} bytes: {error}", {
      limit: this.#limit,
      error,
    });
  }
}
