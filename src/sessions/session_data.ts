/**
 * The stored form of a session, the same in the file and in Redis: its fields as JSON without
 * the refresh token, which is only ever stored encrypted, apart (token_cipher.ts).
 */
import type { Session } from "./types.ts";

export function sessionData(session: Session): string {
  return JSON.stringify({ ...session, refreshToken: undefined });
}
