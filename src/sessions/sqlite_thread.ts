/**
 * The event loop's side of a file-store worker (sqlite_worker.ts): the worker is started at the
 * first request and kept; each request carries an id, and the worker's reply settles it.
 */
import type { LiveCounts } from "./types.ts";

/**
 * The worker's module. The compiled binaries must embed it: `make build-bun` names it as a
 * second entry point, `make build` includes it. In a Bun binary every module's
 * `import.meta.url` is the binary's own, and entry points are found by their path under src/.
 */
const WORKER = import.meta.url.startsWith("file:///$bunfs/")
  ? "./sessions/sqlite_worker.ts"
  : new URL("./sqlite_worker.ts", import.meta.url).href;

/** How long a store's close() waits for a worker to close its connection before ending it. */
const WORKER_CLOSE_WAIT_MS = 5_000;

/**
 * After a worker failed, no other is started for this long. Starting one takes 2-17 ms of the
 * event loop, and a module that cannot load (missing from a binary, say) fails every time: the
 * live counts would have started a worker per server at every scrape.
 */
const WORKER_RESTART_DELAY_MS = 60_000;

/**
 * Where the worker's connection goes: the session file, and how long it waits for a lock;
 * `identity` (file_identity.ts) is the file the store opened there: the worker opens no other.
 */
export interface SqliteFile {
  path: string;
  busyTimeoutMs: number;
  identity?: string | undefined;
}

export type SqliteWorkerRequest =
  & { id: number }
  & (
    | ({ op: "checkpoint" } & SqliteFile)
    | ({ op: "count"; server: string; now: number } & SqliteFile)
    | { op: "close" }
  );

export type SqliteWorkerAnswer =
  | { done: true }
  | { counts: LiveCounts }
  | { closed: true }
  | { error: string };

export type SqliteWorkerReply = { id: number } & SqliteWorkerAnswer;

/** A request as its sender writes it: the thread numbers it. */
type Unnumbered<T> = T extends unknown ? Omit<T, "id"> : never;

/** For tests: another worker module, shorter waits, the restart delay's clock (ms). */
export interface SqliteThreadOptions {
  url?: string | undefined;
  restartDelayMs?: number | undefined;
  closeWaitMs?: number | undefined;
  now?: (() => number) | undefined;
}

export class SqliteThread {
  readonly #what: string;
  readonly #url: string;
  readonly #restartDelayMs: number;
  readonly #closeWaitMs: number;
  readonly #now: () => number;
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, (answer: SqliteWorkerAnswer) => void>();
  /** Callers waiting through `within`, told by `refuseWaiting`. */
  readonly #giveUps = new Set<(error: Error) => void>();
  #lastId = 0;
  /** The last worker's failure and when (#now()), until another one starts. */
  #failure: { reason: string; at: number } | undefined;

  /** `what` names the worker in errors ("WAL checkpoint worker"). */
  constructor(what: string, options: SqliteThreadOptions = {}) {
    this.#what = what;
    this.#url = options.url ?? WORKER;
    this.#restartDelayMs = options.restartDelayMs ?? WORKER_RESTART_DELAY_MS;
    this.#closeWaitMs = options.closeWaitMs ?? WORKER_CLOSE_WAIT_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Sends `request`, starting the worker first when none runs. A worker that fails to start, or
   * fails later (its module missing, say), answers every request waiting with `{ error }` and is
   * ended; requests within WORKER_RESTART_DELAY_MS of that are answered with the same error at
   * once, and the first one after starts another.
   */
  ask(request: Unnumbered<SqliteWorkerRequest>): Promise<SqliteWorkerAnswer> {
    if (this.#worker === undefined && this.#failure !== undefined) {
      const waitMs = this.#failure.at + this.#restartDelayMs - this.#now();
      if (waitMs > 0) {
        return Promise.resolve({
          error: `${this.#failure.reason} (not started again for ${Math.ceil(waitMs / 1000)} s)`,
        });
      }
    }
    let worker: Worker;
    try {
      worker = this.#worker ?? this.#start();
    } catch (error) {
      return Promise.resolve({
        error: this.#failed(`${this.#what} did not start: ${String(error)}`),
      });
    }
    const id = ++this.#lastId;
    try {
      worker.postMessage({ id, ...request });
    } catch (error) {
      return Promise.resolve({ error: `${this.#what} took no request: ${String(error)}` });
    }
    // The reply comes in a later turn, so it finds this.
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }

  /**
   * `running` (work on this worker), or a rejection with `overdue()` after `waitMs`, or with the
   * error `refuseWaiting` is given (the store closing). For work on a worker that may never
   * answer (a stalled disk): its callers go on.
   */
  within<T>(running: Promise<T>, waitMs: number, overdue: () => Error): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let giveUp: (error: Error) => void = () => {};
    const late = new Promise<never>((_, reject) => {
      giveUp = reject;
      timer = setTimeout(() => reject(overdue()), waitMs);
    });
    this.#giveUps.add(giveUp);
    return Promise.race([running, late]).finally(() => {
      clearTimeout(timer);
      this.#giveUps.delete(giveUp);
    });
  }

  /** Rejects every call still waiting in `within` with `error`. */
  refuseWaiting(error: Error): void {
    for (const giveUp of this.#giveUps) giveUp(error);
  }

  /**
   * Has the worker close its connection once `after` (work in progress) has settled, waiting at
   * most WORKER_CLOSE_WAIT_MS in all (a worker stuck in a request cannot hold up a shutdown),
   * then ends it. Requests still waiting are never answered: their callers give up through
   * `within`.
   */
  async close(after?: Promise<unknown>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = (async () => {
      await after?.catch(() => {});
      if (this.#worker !== undefined) await this.ask({ op: "close" });
    })();
    try {
      await Promise.race([
        closed,
        new Promise((resolve) => (timer = setTimeout(resolve, this.#closeWaitMs))),
      ]);
    } finally {
      clearTimeout(timer);
      this.#end();
    }
  }

  /** Notes a failure (see `ask`) and returns its reason. */
  #failed(reason: string): string {
    this.#failure = { reason, at: this.#now() };
    return reason;
  }

  #start(): Worker {
    const worker = new Worker(this.#url, { type: "module" });
    this.#failure = undefined;
    worker.onmessage = ({ data }: MessageEvent<SqliteWorkerReply>) => {
      const answer = this.#waiting.get(data.id);
      this.#waiting.delete(data.id);
      answer?.(data);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const waiting = [...this.#waiting.values()];
      this.#end();
      const error = this.#failed(`${this.#what} failed: ${event.message}`);
      for (const answer of waiting) answer({ error });
    };
    this.#worker = worker;
    return worker;
  }

  #end(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#waiting.clear();
  }
}
