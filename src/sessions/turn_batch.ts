/**
 * Collects the writes of one event-loop turn (a storm of CONNECTs read in one chunk) and hands
 * them to `write` together in the next turn, so that they share one transaction. Each add
 * resolves only after `write` has returned: what the caller does after its add resolved (answer
 * OpenVPN) still happens after the data is committed.
 */
import { setImmediate } from "node:timers";

interface Queued<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `write` returns, for each item in order, the error that refused that item alone (or
 * undefined); a throw refuses them all.
 */
export type BatchWriter<T> = (items: readonly T[]) => readonly unknown[];

export class TurnBatch<T> {
  readonly #write: BatchWriter<T>;
  #queue: Queued<T>[] = [];

  constructor(write: BatchWriter<T>) {
    this.#write = write;
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.flush());
      this.#queue.push({ item, resolve, reject });
    });
  }

  /** Writes what is queued now; called early before anything that must see it. */
  flush(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    let errors: readonly unknown[];
    try {
      errors = this.#write(queue.map((q) => q.item));
    } catch (error) {
      for (const q of queue) q.reject(error);
      return;
    }
    queue.forEach((q, i) => errors[i] === undefined ? q.resolve() : q.reject(errors[i]));
  }
}
