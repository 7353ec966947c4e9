/**
 * The stored form of a session, the same in the file and in Redis: its fields as JSON without
 * the refresh token, which is only ever stored encrypted, apart (token_cipher.ts). And the
 * listed form, every store's: the same fields, no token.
 */
import type { ListedSession, Session } from "./types.ts";

export function sessionData(session: Session): string {
  return JSON.stringify({ ...session, refreshToken: undefined });
}

/** A session as a listing hands it out: frozen, without the refresh token. */
export function listedSession(session: Session): ListedSession {
  const { refreshToken: _, ...listed } = session;
  return Object.freeze(listed);
}
