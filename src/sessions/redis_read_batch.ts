/**
 * Session reads issued in the same turn of the event loop go to Redis as one script call: a
 * REAUTH storm delivers many REAUTHs per socket read, and one call per read (with its command
 * object, reply promise and timeout timer in the Redis client) was most of what a REAUTH cost
 * the bridge beyond the protocol. Each read still sees its entry as Redis holds it when the
 * call runs; a failed call fails every read in it with the same error.
 */
import type { Buffer } from "node:buffer";
import type { StoredFields } from "./redis_codec.ts";

/** Ids per script call: bounds how long one call holds Redis. */
export const READ_BATCH = 500;

type Flat = Array<Buffer | null>;

interface Waiting {
  id: string;
  resolve: (fields: StoredFields) => void;
  reject: (error: unknown) => void;
}

export class ReadBatcher {
  readonly #fetch: (ids: string[]) => Promise<Flat>;
  #waiting: Waiting[] = [];

  /** `fetch(ids)` returns [data, secret, data, secret, ...] in the order of `ids`. */
  constructor(fetch: (ids: string[]) => Promise<Flat>) {
    this.#fetch = fetch;
  }

  read(id: string): Promise<StoredFields> {
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
        (flat) => {
          for (let i = 0; i < part.length; i++) {
            part[i]!.resolve([flat[2 * i] ?? null, flat[2 * i + 1] ?? null]);
          }
        },
        (error) => {
          for (const { reject } of part) reject(error);
        },
      );
    }
  }
}
