/**
 * Session reads issued in the same turn of the event loop go to Redis as one script call: a
 * REAUTH storm delivers many REAUTHs per socket read, and one call per read (with its command
 * object, reply promise and timeout timer in the Redis client) was most of what a REAUTH cost
 * the bridge beyond the protocol. Each read still sees its entry as Redis holds it when the
 * call runs; a failed call fails every read in it with the same error.
 */

/** Ids per script call: bounds how long one call holds Redis. */
export const READ_BATCH = 500;

interface Waiting<R> {
  id: string;
  resolve: (read: R) => void;
  reject: (error: unknown) => void;
}

export class ReadBatcher<R> {
  readonly #fetch: (ids: string[]) => Promise<readonly R[]>;
  #waiting: Array<Waiting<R>> = [];

  /** `fetch(ids)` returns what was read for each id, in the order of `ids`. */
  constructor(fetch: (ids: string[]) => Promise<readonly R[]>) {
    this.#fetch = fetch;
  }

  read(id: string): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) queueMicrotask(() => this.#flush());
      this.#waiting.push({ id, resolve, reject });
    });
  }

  #flush(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let from = 0; from < waiting.length; from += READ_BATCH) {
      const part = waiting.slice(from, from + READ_BATCH);
      this.#fetch(part.map(({ id }) => id)).then(
        (reads) => {
          for (let i = 0; i < part.length; i++) part[i]!.resolve(reads[i]!);
        },
        (error) => {
          for (const { reject } of part) reject(error);
        },
      );
    }
  }
}
