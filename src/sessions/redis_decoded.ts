/**
 * Sessions the Redis store decoded or wrote, each kept with the version it was read or written
 * at. Every write of a session gives it a new random version (`v`, redis_scripts.ts), in the
 * same script that writes its bytes. A read sends the version it holds and gets the bytes back
 * only when Redis holds another one, so a change made by any bridge is seen at once, and a
 * session read again unchanged costs neither its bytes on the wire nor a decode (JSON parse,
 * entry checks, the refresh token's decryption).
 *
 * Only sessions bound to a client are kept (the ones REAUTHs read), at most CACHE_LIMIT; beyond
 * that the least recently stored go (a batch at a time, session_cache.ts).
 */
import { CACHE_LIMIT, SnapshotCache } from "./session_cache.ts";
import type { Session } from "./types.ts";

interface Decoded {
  version: string;
  session: Session;
}

export class DecodedSessions {
  readonly #entries = new SnapshotCache<Decoded>(CACHE_LIMIT);

  /** The version held for this id, to send with a read ("" when none is held). */
  versionOf(sessionId: string): string {
    return this.#entries.get(sessionId)?.version ?? "";
  }

  /**
   * The version at which this id is held with this refresh token ("" when it is not): Redis
   * still holding that version holds this token, so a put of it need not send it again.
   */
  versionWithToken(sessionId: string, refreshToken: string | undefined): string {
    const entry = this.#entries.get(sessionId);
    return refreshToken !== undefined && entry?.session.refreshToken === refreshToken
      ? entry.version
      : "";
  }

  /** The snapshot decoded at exactly this version under this id, if there is one. */
  get(sessionId: string, version: string): Session | undefined {
    const entry = this.#entries.get(sessionId);
    return entry !== undefined && entry.version === version ? entry.session : undefined;
  }

  /** Keeps `session`, decoded under `sessionId` at `version`, when it is bound to a client. */
  remember(sessionId: string, version: string, session: Session): void {
    if (session.cid === undefined) {
      this.#entries.delete(sessionId);
      return;
    }
    this.#entries.set(sessionId, { version, session });
  }

  delete(sessionId: string): void {
    this.#entries.delete(sessionId);
  }

  clear(): void {
    this.#entries.clear();
  }
}
