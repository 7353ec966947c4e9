/**
 * Store calls of one kind issued in the same turn of the event loop go to Redis as one script
 * call: a REAUTH storm delivers many REAUTHs per socket read, and a CONNECT storm many new
 * logins. One call each (with its command object, reply promise and timeout timer in the Redis
 * client) was most of what such an event cost the bridge beyond the protocol. Each item still
 * sees its entry as Redis holds it when the call runs, in the order the items were submitted; a
 * failed call fails every item in it with the same error.
 */

/** Items per script call: bounds how long one call holds Redis. */
export const CALL_BATCH = 500;

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class CallBatcher<I, R> {
  readonly #call: (items: I[]) => Promise<readonly R[]>;
  #waiting: Array<Waiting<I, R>> = [];

  /** `call(items)` returns the result of each item, in the order of `items`. */
  constructor(call: (items: I[]) => Promise<readonly R[]>) {
    this.#call = call;
  }

  submit(item: I): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) queueMicrotask(() => this.#flush());
      this.#waiting.push({ item, resolve, reject });
    });
  }

  #flush(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let from = 0; from < waiting.length; from += CALL_BATCH) {
      const part = waiting.slice(from, from + CALL_BATCH);
      this.#start(part.map(({ item }) => item)).then(
        (results) => {
          for (let i = 0; i < part.length; i++) part[i]!.resolve(results[i]!);
        },
        (error) => {
          for (const { reject } of part) reject(error);
        },
      );
    }
  }

  /** The call as a promise, also when it throws at once: its items fail, none waits forever. */
  #start(items: I[]): Promise<readonly R[]> {
    try {
      return this.#call(items);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
