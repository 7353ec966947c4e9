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
 *
 * Another process reading the file in an open transaction (an sqlite3 shell left at a prompt
 * after a SELECT, a backup tool) keeps every checkpoint from copying what was written after
 * its snapshot: the WAL grows with every write until that transaction ends, and what it holds
 * is not yet fsynced (synchronous = NORMAL). A checkpoint reports success then, so the watch
 * reads what it left and warns once the WAL has stayed held for HELD_WARN_MS (our own live
 * counter's reads hold it for a moment too).
 */
import { statSync } from "node:fs";
import { getLogger } from "../log.ts";
import type { WalProgress } from "./wal_checkpoint.ts";

/** The WAL size that asks for a checkpoint, and the size it is cut back to afterwards. */
export const WAL_LIMIT = 16 * 1024 * 1024;
/** Reading the size costs a system call: a storm of writes reads it a few times a second. */
const CHECK_EVERY_MS = 250;
/** How long checkpoints may leave frames behind before the watch warns (see the header). */
const HELD_WARN_MS = 10_000;

const log = getLogger("sessions");

/** A whole number of bytes (it is written into a PRAGMA). */
export function checkWalLimit(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Invalid WAL size limit: ${bytes} bytes`);
  }
  return bytes;
}

/**
 * For tests: a smaller limit (the file store's journal_size_limit too), every write checked, a
 * held WAL warned at once.
 */
export interface WalSizeWatchOptions {
  limitBytes?: number;
  checkEveryMs?: number;
  heldWarnMs?: number;
}

export class WalSizeWatch {
  readonly #walPath: string;
  readonly #checkpoint: () => Promise<WalProgress | void>;
  readonly #limit: number;
  readonly #checkEveryMs: number;
  readonly #heldWarnMs: number;
  #checkedAt = -Infinity;
  /** When checkpoints began to leave frames behind (undefined: the last one copied them all). */
  #heldSince: number | undefined;
  /** A checkpoint asked by this watch is running: the next check waits for it. */
  #running = false;
  /** Failures are logged once until a checkpoint succeeds again (a storm checks 4 times/s). */
  #failing = false;

  /**
   * `checkpoint` checkpoints the whole WAL (rejecting when it cannot) and tells what it left
   * (nothing told: nothing to judge, as when the store has closed).
   */
  constructor(
    dbPath: string,
    checkpoint: () => Promise<WalProgress | void>,
    options: WalSizeWatchOptions = {},
  ) {
    this.#walPath = `${dbPath}-wal`;
    this.#checkpoint = checkpoint;
    this.#limit = checkWalLimit(options.limitBytes ?? WAL_LIMIT);
    this.#checkEveryMs = options.checkEveryMs ?? CHECK_EVERY_MS;
    this.#heldWarnMs = options.heldWarnMs ?? HELD_WARN_MS;
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
      (progress) => this.#checkpointed(progress, size),
      (error: Error) => this.#failed(`checkpoint failed: ${error.message}`),
    ).finally(() => (this.#running = false));
  }

  #checkpointed(progress: WalProgress | void, size: number): void {
    if (!progress || progress.copiedFrames >= progress.walFrames) {
      if (this.#failing) log.info("The session file's WAL is checkpointed again");
      this.#heldSince = undefined;
      this.#failing = false;
      return;
    }
    const now = performance.now();
    this.#heldSince ??= now;
    if (now - this.#heldSince < this.#heldWarnMs) return;
    this.#failed(
      `checkpoints copied ${progress.copiedFrames} of its ${progress.walFrames} frames ` +
        `(${size} bytes) for ${Math.round((now - this.#heldSince) / 1000)} s: another ` +
        "connection keeps a read transaction open on the session file (an sqlite3 shell, a " +
        "backup tool?); the WAL grows until it ends",
    );
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
