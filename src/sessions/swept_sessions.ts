/**
 * The sessions a sweep of the file or Redis store removed that held a refresh token, decoded
 * from their rows for SessionStore.sweep's handler: as a read decodes them, LIST_CHUNK per
 * event-loop turn (list_chunk.ts: decoding and decrypting one costs tens of µs). One that does
 * not decode is left out with a warning: the row is gone whatever its content was, and its
 * token, if it had a readable one, is left to expire at the IdP.
 */
import { LIST_CHUNK } from "./list_chunk.ts";
import { nextTurn } from "../next_turn.ts";
import { getLogger } from "../log.ts";
import type { Session, SweptSession } from "./types.ts";
import { errorText } from "../error_text.ts";

const log = getLogger("sessions");

/** `decode(entry)` of each entry; those that fail or hold no token are left out. */
export async function decodeSwept<E>(
  entries: readonly E[],
  decode: (entry: E) => Session | undefined | Promise<Session | undefined>,
): Promise<SweptSession[]> {
  const swept: SweptSession[] = [];
  let unreadable = 0;
  let firstError = "";
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && i % LIST_CHUNK === 0) await nextTurn();
    try {
      const session = await decode(entries[i]!);
      if (session?.refreshToken !== undefined) swept.push(session as SweptSession);
    } catch (error) {
      // The decoders' messages name no id or token (sqlite_rows.ts, token_cipher.ts).
      if (unreadable++ === 0) firstError = errorText(error);
    }
  }
  if (unreadable > 0) {
    log.warning(
      "{count} expired sessions removed by the sweep could not be read, their refresh tokens " +
        "are not revoked: {error}",
      { count: unreadable, error: firstError },
    );
  }
  return swept;
}
