/**
 * Checkpoints the session file's WAL on a worker thread. A checkpoint copies every page written
 * since the last one into the database file and fsyncs both; run on the event loop at each
 * sweep it stalled every REAUTH and CONNECT for 25-60 ms after a minute of 10 sign-ins/s and
 * 95-135 ms after a minute of 50/s (bench/README.md). In WAL mode another connection may
 * checkpoint while this one reads and writes: PASSIVE waits for no reader or writer, and the
 * frames it cannot copy yet are copied by the next one. The worker is started at the first
 * checkpoint and kept (starting one blocked Deno's event loop for about 15 ms); one that failed
 * is not started again for a minute (sqlite_thread.ts), and checkpoints run on this thread
 * meanwhile.
 *
 * What was committed while the worker copied is then copied on this thread. Only a WAL whose
 * every frame is in the database file is started over by the next commit (and cut back by
 * `journal_size_limit`), and with writes every turn (a reconnect storm) the worker's copy never
 * ends complete: at 500-2,000 puts/s the WAL reached 104-156 MiB in 8 s with the worker alone,
 * 19-21 MiB with the rest copied here, which took 2.7-6.5 ms, about once a second
 * (bench/README.md). With nothing committed meanwhile it takes ~0.05 ms.
 */

import { type SqliteFile, SqliteThread } from "./sqlite_thread.ts";

/** What a checkpoint on this thread left: the WAL's frames, and how many are in the file now. */
export interface WalProgress {
  walFrames: number;
  copiedFrames: number;
}

/**
 * Reads `PRAGMA wal_checkpoint`'s row (busy, log, checkpointed). A connection reading an older
 * snapshot (another process's open read transaction: an sqlite3 shell, a backup tool) keeps
 * the frames after it from being copied, and a WAL not wholly copied is never started over.
 */
export function walProgressOf(row: unknown): WalProgress | undefined {
  const { log, checkpointed } = (row ?? {}) as Record<string, unknown>;
  if (typeof log !== "number" || typeof checkpointed !== "number" || log < 0) return undefined;
  return { walFrames: log, copiedFrames: checkpointed };
}

/**
 * How long a caller (the sweep) waits for a checkpoint. The sweeper waits for each sweep before
 * it sets the next: a checkpoint stuck on a stalled disk must not stop the sweeps, which keep
 * the store from filling up with expired rows.
 */
const CHECKPOINT_WAIT_MS = 30_000;

/** For tests: another worker module (one that never answers), shorter waits. */
export interface WalCheckpointerOptions {
  workerUrl?: string;
  closeWaitMs?: number;
  checkpointWaitMs?: number;
}

export class WalCheckpointer {
  readonly #file: SqliteFile;
  readonly #checkpointHere: () => WalProgress | void;
  readonly #thread: SqliteThread;
  readonly #checkpointWaitMs: number;
  /** The one checkpoint in flight: checkpoints are joined, and close waits for them. */
  #running: Promise<WalProgress | void> | undefined;

  /**
   * `checkpointHere` checkpoints on this thread: the rest after the worker, or all of it; what
   * it tells of the WAL is what the checkpoint resolves to.
   */
  constructor(
    file: SqliteFile,
    checkpointHere: () => WalProgress | void,
    options: WalCheckpointerOptions = {},
  ) {
    this.#file = file;
    this.#checkpointHere = checkpointHere;
    this.#thread = new SqliteThread("WAL checkpoint worker", {
      url: options.workerUrl,
      closeWaitMs: options.closeWaitMs,
    });
    this.#checkpointWaitMs = options.checkpointWaitMs ?? CHECKPOINT_WAIT_MS;
  }

  /**
   * One checkpoint (a call while one runs joins it): the worker's, then the rest on this thread
   * (see the header). When the worker fails, the checkpoint runs on this thread after all (the
   * WAL must not grow without bound, and only a checkpoint makes its transactions survive a
   * power loss) and the call rejects, naming the failure (or with `checkpointHere`'s own error
   * when that fails too: the store's, which tells a full disk as such). A checkpoint not done within
   * CHECKPOINT_WAIT_MS rejects the call and goes on; later calls join it (one stuck worker is
   * not given a second checkpoint).
   */
  checkpoint(): Promise<WalProgress | void> {
    this.#running ??= this.#inWorker().then(() => this.#checkpointHere(), (error: Error) => {
      this.#checkpointHere();
      throw new Error(`${error.message}; the checkpoint ran on the event loop instead`);
    }).finally(() => (this.#running = undefined));
    return this.#thread.within(
      this.#running,
      this.#checkpointWaitMs,
      () =>
        new Error(
          `WAL checkpoint not done after ${this.#checkpointWaitMs / 1000} s (a stalled disk?)`,
        ),
    );
  }

  /**
   * Waits for a checkpoint in progress, then has the worker close its connection and ends it;
   * at most WORKER_CLOSE_WAIT_MS (sqlite_thread.ts) in all, so a stuck worker cannot hold up a
   * shutdown (a checkpoint it never answers is abandoned, and whoever still waits for it is
   * told). The store closes its own connection after this.
   */
  async close(): Promise<void> {
    await this.#thread.close(this.#running);
    this.#thread.refuseWaiting(
      new Error("Session store closed before the WAL checkpoint finished"),
    );
  }

  async #inWorker(): Promise<void> {
    const answer = await this.#thread.ask({ op: "checkpoint", ...this.#file });
    if ("error" in answer) throw new Error(`WAL checkpoint failed: ${answer.error}`);
  }
}
