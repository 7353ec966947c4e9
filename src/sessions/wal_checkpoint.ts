/**
 * Checkpoints the session file's WAL on a worker thread. A checkpoint copies every page written
 * since the last one into the database file and fsyncs both; run on the event loop at each
 * sweep it stalled every REAUTH and CONNECT for 25-60 ms after a minute of 10 sign-ins/s and
 * 95-135 ms after a minute of 50/s (bench/README.md). In WAL mode another connection may
 * checkpoint while this one reads and writes: PASSIVE waits for no reader or writer, and the
 * frames it cannot copy yet are copied by the next one. The worker is started at the first
 * checkpoint and kept (starting one blocked Deno's event loop for about 15 ms).
 *
 * What was committed while the worker copied is then copied on this thread. Only a WAL whose
 * every frame is in the database file is started over by the next commit (and cut back by
 * `journal_size_limit`), and with writes every turn (a reconnect storm) the worker's copy never
 * ends complete: at 500-2,000 puts/s the WAL reached 104-156 MiB in 8 s with the worker alone,
 * 19-21 MiB with the rest copied here, which took 2.7-6.5 ms, about once a second
 * (bench/README.md). With nothing committed meanwhile it takes ~0.05 ms.
 */

/**
 * The worker's module. The compiled binaries must embed it: `make build-bun` names it as a
 * second entry point, `make build` includes it. In a Bun binary every module's
 * `import.meta.url` is the binary's own, and entry points are found by their path under src/.
 */
const WORKER = import.meta.url.startsWith("file:///$bunfs/")
  ? "./sessions/wal_checkpoint_worker.ts"
  : new URL("./wal_checkpoint_worker.ts", import.meta.url).href;

/** How long close() waits for the worker to close its connection before ending it. */
const CLOSE_WAIT_MS = 5_000;
/**
 * How long a caller (the sweep) waits for a checkpoint. The sweeper waits for each sweep before
 * it sets the next: a checkpoint stuck on a stalled disk must not stop the sweeps, which keep
 * the store from filling up with expired rows.
 */
const CHECKPOINT_WAIT_MS = 30_000;

type Reply = { done: true } | { closed: true } | { error: string };

/** For tests: another worker module (one that never answers), shorter waits. */
export interface WalCheckpointerOptions {
  workerUrl?: string;
  closeWaitMs?: number;
  checkpointWaitMs?: number;
}

export class WalCheckpointer {
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #checkpointHere: () => void;
  readonly #workerUrl: string;
  readonly #closeWaitMs: number;
  readonly #checkpointWaitMs: number;
  #worker: Worker | undefined;
  /** The one request in flight: checkpoints are joined, and close waits for them. */
  #answer: ((reply: Reply) => void) | undefined;
  #running: Promise<void> | undefined;
  /** Callers waiting for a checkpoint, told at close() when it never finished. */
  readonly #waiting = new Set<(error: Error) => void>();

  /** `checkpointHere` checkpoints on this thread: the rest after the worker, or all of it. */
  constructor(
    path: string,
    busyTimeoutMs: number,
    checkpointHere: () => void,
    options: WalCheckpointerOptions = {},
  ) {
    this.#path = path;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#checkpointHere = checkpointHere;
    this.#workerUrl = options.workerUrl ?? WORKER;
    this.#closeWaitMs = options.closeWaitMs ?? CLOSE_WAIT_MS;
    this.#checkpointWaitMs = options.checkpointWaitMs ?? CHECKPOINT_WAIT_MS;
  }

  /**
   * One checkpoint (a call while one runs joins it): the worker's, then the rest on this thread
   * (see the header). When the worker fails, the checkpoint runs on this thread after all (the
   * WAL must not grow without bound, and only a checkpoint makes its transactions survive a
   * power loss) and the call rejects, naming the failure. A checkpoint not done within
   * CHECKPOINT_WAIT_MS rejects the call and goes on; later calls join it (one stuck worker is
   * not given a second checkpoint).
   */
  checkpoint(): Promise<void> {
    this.#running ??= this.#inWorker().then(() => this.#checkpointHere(), (error: Error) => {
      this.#checkpointHere();
      throw new Error(`${error.message}; the checkpoint ran on the event loop instead`);
    }).finally(() => (this.#running = undefined));
    return this.#waitFor(this.#running);
  }

  /**
   * Waits for a checkpoint in progress, then has the worker close its connection and ends it;
   * at most CLOSE_WAIT_MS in all, so a stuck worker cannot hold up a shutdown (a checkpoint it
   * never answers is abandoned, and whoever still waits for it is told). The store closes its
   * own connection after this.
   */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = (async () => {
      await this.#running?.catch(() => {});
      if (this.#worker !== undefined) await this.#ask(this.#worker, { op: "close" });
    })();
    try {
      await Promise.race([
        closed,
        new Promise((resolve) => (timer = setTimeout(resolve, this.#closeWaitMs))),
      ]);
    } finally {
      clearTimeout(timer);
      if (this.#worker !== undefined) this.#end(this.#worker);
      for (const giveUp of this.#waiting) {
        giveUp(new Error("Session store closed before the WAL checkpoint finished"));
      }
    }
  }

  /** The checkpoint, or a rejection after CHECKPOINT_WAIT_MS or at close(). */
  #waitFor(running: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let giveUp: (error: Error) => void = () => {};
    const overdue = new Promise<never>((_, reject) => {
      giveUp = reject;
      const seconds = this.#checkpointWaitMs / 1000;
      timer = setTimeout(
        () => reject(new Error(`WAL checkpoint not done after ${seconds} s (a stalled disk?)`)),
        this.#checkpointWaitMs,
      );
    });
    this.#waiting.add(giveUp);
    return Promise.race([running, overdue]).finally(() => {
      clearTimeout(timer);
      this.#waiting.delete(giveUp);
    });
  }

  async #inWorker(): Promise<void> {
    const worker = this.#worker ?? this.#start();
    const reply = await this.#ask(worker, {
      op: "checkpoint",
      path: this.#path,
      busyTimeoutMs: this.#busyTimeoutMs,
    });
    if ("error" in reply) throw new Error(`WAL checkpoint failed: ${reply.error}`);
  }

  #start(): Worker {
    let worker: Worker;
    try {
      worker = new Worker(this.#workerUrl, { type: "module" });
    } catch (error) {
      throw new Error(`WAL checkpoint worker did not start: ${String(error)}`);
    }
    worker.onmessage = ({ data }: MessageEvent<Reply>) => this.#settle(data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      // A worker that failed (its module missing, say) is not asked again: the next
      // checkpoint starts a new one.
      this.#end(worker);
      this.#settle({ error: `worker failed: ${event.message}` });
    };
    this.#worker = worker;
    return worker;
  }

  #ask(worker: Worker, request: unknown): Promise<Reply> {
    return new Promise((resolve) => {
      this.#answer = resolve;
      worker.postMessage(request);
    });
  }

  #settle(reply: Reply): void {
    const answer = this.#answer;
    this.#answer = undefined;
    answer?.(reply);
  }

  #end(worker: Worker): void {
    worker.terminate();
    if (this.#worker === worker) this.#worker = undefined;
  }
}
