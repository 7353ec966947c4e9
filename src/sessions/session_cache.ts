/**
 * Decoded entries kept as frozen snapshots so that a read costs no JSON parsing and no
 * decryption: the file store's sessions (a REAUTH) and pending logins (the login page, the
 * confirm step and the callback each read one), and the Redis store's sessions with the bytes
 * they came from. Bounded: beyond the limit the least recently stored is dropped. The store
 * decides when a cache is stale (another connection wrote the file) and clears it.
 */
import type { PendingLogin } from "./types.ts";

/** Decoded sessions kept in memory; beyond this the oldest cached ones are dropped. */
export const CACHE_LIMIT = 50_000;
/** Pending logins live minutes; this many covers a CONNECT storm's logins being finished. */
export const PENDING_CACHE_LIMIT = 10_000;

export class SnapshotCache<T> {
  readonly #entries = new Map<string, T>();
  readonly #limit: number;
  /**
   * Where the least recently stored entry is. A Map keeps deleted entries as holes until it
   * rehashes, and a fresh `keys()` walks from the start over all of them: taking the oldest
   * that way cost 5.5-7.4 µs per store once the cache was full (Deno and Bun; about 1 µs below
   * the limit), a B2 CONNECT storm paying it on every pending login. A live iterator goes on
   * from where it stopped, past entries deleted or stored again since.
   */
  #oldest: MapIterator<string>;

  constructor(limit: number) {
    this.#limit = limit;
    this.#oldest = this.#entries.keys();
  }

  get(key: string): T | undefined {
    return this.#entries.get(key);
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Stores (or refreshes) a snapshot as the newest entry. */
  set(key: string, value: T): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#limit) this.#dropOldest();
  }

  #dropOldest(): void {
    let next = this.#oldest.next();
    // Done once it caught up with the newest entry (a finished iterator stays finished).
    if (next.done) {
      this.#oldest = this.#entries.keys();
      next = this.#oldest.next();
    }
    if (!next.done) this.#entries.delete(next.value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  dropExpired(this: SnapshotCache<{ readonly expiresAt: number }>, now: number): void {
    for (const [key, value] of this.#entries) {
      if (value.expiresAt < now) this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#oldest = this.#entries.keys();
  }
}

/** A pending login as the cache hands it out: frozen, its OIDC values too. */
export function frozenPending(login: PendingLogin): PendingLogin {
  if (login.oauth) Object.freeze(login.oauth);
  return Object.freeze(login);
}
