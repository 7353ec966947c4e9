/**
 * Runs async work one at a time per key. Events about one session can overlap: OpenVPN may
 * deliver the old cid's DISCONNECT seconds after the same client's new CONNECT, and both read
 * and write the session. Serialising per session makes each see the other's result.
 *
 * Nearly every run finds its key free (one REAUTH per session and hour): that case costs a map
 * entry and no promise of its own; only a key that is busy gets a queue of waiters.
 */
const FREE_QUEUE: Array<() => void> = [];

export class KeyedLock {
  /** Keys held, with whoever waits for them in order (`FREE_QUEUE` while nobody does). */
  readonly #held = new Map<string, Array<() => void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const waiters = this.#held.get(key);
    if (waiters !== undefined) return this.#runAfter(key, waiters, work);
    // Kept as given: a session id read out of a block is a copy already (client_request.ts),
    // not a slice of the socket chunk, which a key kept alive through scavenges after a storm.
    this.#held.set(key, FREE_QUEUE);
    return this.#holding(key, work);
  }

  async #runAfter<T>(
    key: string,
    waiters: Array<() => void>,
    work: () => Promise<T>,
  ): Promise<T> {
    const queue = waiters === FREE_QUEUE ? [] : waiters;
    if (queue !== waiters) this.#held.set(key, queue);
    await new Promise<void>((resolve) => queue.push(resolve));
    return await this.#holding(key, work);
  }

  /**
   * Runs `work` with `key` held and releases it once `work` settled. Not an async function:
   * a Redis REAUTH waits a round trip in `work`, and an async frame suspended around it (its
   * generator, registers, promise and two await closures) was held by every REAUTH waiting.
   */
  #holding<T>(key: string, work: () => Promise<T>): Promise<T> {
    let working: Promise<T>;
    try {
      working = work();
    } catch (error) {
      this.#release(key);
      return Promise.reject(error);
    }
    return working.then(
      (value) => {
        this.#release(key);
        return value;
      },
      (error) => {
        this.#release(key);
        throw error;
      },
    );
  }

  /** Keys held or waited for (for tests). */
  get size(): number {
    return this.#held.size;
  }

  /** Hands the key to the next waiter (still held, in FIFO order), or frees it. */
  #release(key: string): void {
    const waiters = this.#held.get(key);
    const next = waiters?.shift();
    if (next !== undefined) next();
    else this.#held.delete(key);
  }
}
