/**
 * Sessions the Redis store decoded, each kept with the exact bytes it was decoded from. Every
 * read still fetches the entry from Redis, so a change made by another bridge is seen at once;
 * only when Redis hands back the very bytes decoded before is the snapshot reused. That spares
 * a REAUTH the JSON parse, the entry checks and the refresh token's decryption, and cannot
 * change what a read returns: decoding the same bytes under the same id gives the same session.
 *
 * Only sessions bound to a client are kept (the ones REAUTHs read), at most CACHE_LIMIT; beyond
 * that the least recently stored go (a batch at a time, session_cache.ts).
 */
import { Buffer } from "node:buffer";
import type { StoredFields } from "./redis_codec.ts";
import { CACHE_LIMIT, SnapshotCache } from "./session_cache.ts";
import type { Session } from "./types.ts";

interface Decoded {
  data: Buffer;
  secret: Buffer | null;
  session: Session;
}

export class DecodedSessions {
  readonly #entries = new SnapshotCache<Decoded>(CACHE_LIMIT);

  /** The snapshot decoded from exactly these bytes under this id, if there is one. */
  get(sessionId: string, [data, secret]: StoredFields): Session | undefined {
    const entry = this.#entries.get(sessionId);
    if (entry === undefined || data === null || !entry.data.equals(data)) return undefined;
    if (secret === null ? entry.secret !== null : !entry.secret?.equals(secret)) return undefined;
    return entry.session;
  }

  /** Keeps `session`, decoded under `sessionId` from `fields`, when it is bound to a client. */
  remember(sessionId: string, [data, secret]: StoredFields, session: Session): void {
    if (data === null || session.cid === undefined) {
      this.#entries.delete(sessionId);
      return;
    }
    // Copies: a reply's buffers may be views of a larger read buffer.
    this.#entries.set(sessionId, {
      data: Buffer.from(data),
      secret: secret === null ? null : Buffer.from(secret),
      session,
    });
  }

  delete(sessionId: string): void {
    this.#entries.delete(sessionId);
  }

  clear(): void {
    this.#entries.clear();
  }
}
