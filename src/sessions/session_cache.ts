/**
 * Decoded entries kept as frozen snapshots so that a read costs no JSON parsing and no
 * decryption: the file store's sessions (a REAUTH) and pending logins (the login page, the
 * confirm step and the callback each read one), and the Redis store's sessions with the bytes
 * they came from. Bounded: beyond the limit the least recently stored go, a small batch at a
 * time. The store decides when a cache is stale (another connection wrote the file) and clears it.
 */
import type { PendingLogin } from "./types.ts";

/** Decoded sessions kept in memory; beyond this the oldest cached ones are dropped. */
export const CACHE_LIMIT = 50_000;
/** Pending logins live minutes; this many covers a CONNECT storm's logins being finished. */
export const PENDING_CACHE_LIMIT = 10_000;

/**
 * Beyond the limit the oldest entries go this many at a time (a 64th of the limit). Finding the
 * oldest walks the Map from its start, over the holes that earlier deletes left there until the
 * Map rehashes; one entry per walk cost 5.5-7.4 µs per store once the cache was full (Deno and
 * Bun), a B2 CONNECT storm paying it for every pending login. A batch shares one walk.
 *
 * Not a live iterator kept between stores: a Map iterator that is not advanced keeps every hash
 * table the Map has outgrown alive (V8 links them for it), so a cache below its limit, where
 * nothing advanced it, grew by ~40 B per store for as long as the process ran.
 */
export function evictionBatch(limit: number): number {
  return Math.max(1, Math.floor(limit / 64));
}

export class SnapshotCache<T> {
  readonly #entries = new Map<string, T>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
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
    let left = evictionBatch(this.#limit);
    for (const key of this.#entries.keys()) {
      this.#entries.delete(key);
      if (--left === 0) return;
    }
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
  }
}

/** A pending login as the cache hands it out: frozen, its OIDC values too. */
export function frozenPending(login: PendingLogin): PendingLogin {
  if (login.oauth) Object.freeze(login.oauth);
  return Object.freeze(login);
}
