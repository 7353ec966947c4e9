/**
 * How listings of a whole store share the event loop. Decoded in one turn, an admin listing of
 * 100,000 sessions held up every REAUTH for 4.4 s on Deno (JSON, entry checks and the refresh
 * token's decryption: 43 µs a session); the file and Redis stores decode LIST_CHUNK entries per
 * turn, about 10 ms. Redis also reads them a page of LIST_CHUNK per script call: one call for
 * the whole store held every bridge's Redis for 1.4-2 s at 100,000 sessions.
 */
export const LIST_CHUNK = 250;

/**
 * A server's client bindings (session id and cid, nothing to decode) read per event-loop turn
 * from the file store and per script call from Redis: 2-3 ms. Read at once, 100,000 of them
 * held up the file store's REAUTHs for 292-470 ms and Redis for 360-780 ms.
 */
export const BINDINGS_CHUNK = 500;

/** Every entry of `pages`, in order. */
export async function collectPages<T>(pages: AsyncIterable<readonly T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}
