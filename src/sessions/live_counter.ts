/**
 * The file store's live counts (the metrics' gauges, read at every scrape) on a worker thread.
 * Counting walks one server's entries of the client indexes: with 1,000,000 sessions that took
 * 106-118 ms, a stall of every REAUTH and CONNECT at each scrape (bench/README.md). On the worker
 * (a connection of its own, sqlite_worker.ts) the event loop only sends the request and reads
 * the answer. The worker is started at the first count, so a bridge without metrics has none.
 *
 * When the worker fails or does not answer within COUNT_WAIT_MS, the count runs on this thread
 * after all (the gauges stay right) and a warning names the failure; a worker that failed is not
 * started again for a minute (sqlite_thread.ts). A count asked while one of the same server is
 * on the worker joins it: overlapping scrapes count once. Once that count is overdue, later ones
 * are done on the event loop at once: a worker stuck on a stalled disk is sent one request per
 * server, and a scrape does not wait COUNT_WAIT_MS again each time.
 */
import { getLogger } from "../log.ts";
import { COLLECT_TIMEOUT_MS } from "../metrics/exposition.ts";
import { type SqliteFile, SqliteThread, type SqliteWorkerAnswer } from "./sqlite_thread.ts";
import type { LiveCounts } from "./types.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { storeClosedError } from "./store_closed.ts";
import { errorText } from "../error_text.ts";

const log = getLogger("sessions");

/**
 * Longer than a count of 10,000,000 sessions takes (~1.2 s), and a second shorter than a scrape
 * waits for this count (COLLECT_TIMEOUT_MS, whose timer starts first): as long, the scrape gave
 * up on the gauges just as the count done here after all began, and threw it away.
 */
const COUNT_WAIT_MS = COLLECT_TIMEOUT_MS - 1_000;

/**
 * For tests: another worker module (one that never answers, one that fails), shorter waits, the
 * clock of the worker's restart delay (SqliteThreadOptions.now).
 */
export interface LiveCounterOptions {
  workerUrl?: string;
  countWaitMs?: number;
  closeWaitMs?: number;
  restartDelayMs?: number;
  restartClock?: () => number;
}

/** A count on the worker, and when (performance.now()) it is overdue. */
interface AskedCount {
  answer: Promise<SqliteWorkerAnswer>;
  overdueAt: number;
}

export class LiveCounter {
  readonly #file: SqliteFile;
  readonly #countHere: (server: string, now: number) => LiveCounts;
  readonly #thread: SqliteThread;
  /** Counts done on the event loop after all are warned about at most once a minute. */
  readonly #warning = new WarningInterval(WARNING_INTERVAL_MS, () => performance.now());
  readonly #countWaitMs: number;
  /** The count of each server on the worker now, and when it is overdue (see the header). */
  readonly #asked = new Map<string, AskedCount>();
  #closed = false;

  /** `countHere` counts on this thread, for when the worker cannot. */
  constructor(
    file: SqliteFile,
    countHere: (server: string, now: number) => LiveCounts,
    options: LiveCounterOptions = {},
  ) {
    this.#file = file;
    this.#countHere = countHere;
    this.#thread = new SqliteThread("live count worker", {
      url: options.workerUrl,
      restartDelayMs: options.restartDelayMs,
      now: options.restartClock,
      closeWaitMs: options.closeWaitMs,
    });
    this.#countWaitMs = options.countWaitMs ?? COUNT_WAIT_MS;
  }

  /** `server`'s sessions and pending logins live at `now`. Rejects once the store is closed. */
  async count(server: string, now: number): Promise<LiveCounts> {
    if (this.#closed) throw storeClosedError("sqlite");
    const asked = this.#askWorker(server, now);
    const waitMs = asked.overdueAt - performance.now();
    if (waitMs <= 0) {
      this.#fellBack(
        "Live count worker still busy with an earlier count; counted on the event loop",
      );
      return this.#countHere(server, now);
    }
    try {
      // A count joined to an earlier one waits only as long as that one has left.
      const answer = await this.#thread.within(
        asked.answer,
        waitMs,
        () => new Error(`no answer within ${this.#countWaitMs / 1000} s`),
      );
      if ("counts" in answer) return answer.counts;
      throw new Error("error" in answer ? answer.error : "an answer without counts");
    } catch (error) {
      if (this.#closed) throw storeClosedError("sqlite");
      // Overdue from now on, whatever the clocks say: a timer may fire a fraction of a
      // millisecond before overdueAt by performance.now(), and a later count would then wait
      // out that fraction (a whole timer, late on a busy machine) for the stuck worker again.
      asked.overdueAt = Math.min(asked.overdueAt, performance.now());
      this.#fellBack(
        "Live count not done on its worker ({error}); counted on the event loop instead",
        { error: errorText(error) },
      );
      return this.#countHere(server, now);
    }
  }

  /**
   * A count done here after all: warned about once a minute (every scrape counts every server,
   * so a broken worker would warn at each), at debug in between.
   */
  #fellBack(message: string, fields: Record<string, unknown> = {}): void {
    logDue(this.#warning, log, "warning", message, fields);
  }

  /** `server`'s count on the worker: the one asked already, or a new one. */
  #askWorker(server: string, now: number): AskedCount {
    let asked = this.#asked.get(server);
    if (asked === undefined) {
      asked = {
        answer: this.#thread.ask({ op: "count", ...this.#file, server, now })
          .finally(() => this.#asked.delete(server)),
        overdueAt: performance.now() + this.#countWaitMs,
      };
      this.#asked.set(server, asked);
    }
    return asked;
  }

  /** Ends the worker (see SqliteThread.close); counts still waiting are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#thread.refuseWaiting(storeClosedError("sqlite"));
    await this.#thread.close();
  }
}
