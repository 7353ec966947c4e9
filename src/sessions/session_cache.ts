/**
 * Decoded sessions of the file store, kept as frozen snapshots so that a REAUTH costs no JSON
 * parsing and no decryption. Bounded: beyond CACHE_LIMIT the least recently stored is dropped.
 * The store decides when the cache is stale (another connection wrote the file) and clears it.
 */
import type { Session } from "./types.ts";

/** Decoded sessions kept in memory; beyond this the oldest cached ones are dropped. */
export const CACHE_LIMIT = 50_000;

export class SessionCache {
  readonly #sessions = new Map<string, Session>();

  get(sessionId: string): Session | undefined {
    return this.#sessions.get(sessionId);
  }

  has(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** Stores (or refreshes) a snapshot as the newest entry. */
  remember(session: Session): void {
    this.#sessions.delete(session.sessionId);
    this.#sessions.set(session.sessionId, session);
    if (this.#sessions.size > CACHE_LIMIT) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
  }

  delete(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  dropExpired(now: number): void {
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt < now) this.#sessions.delete(id);
    }
  }

  clear(): void {
    this.#sessions.clear();
  }
}
