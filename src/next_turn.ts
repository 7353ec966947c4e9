/**
 * Work that must not hold up the event loop for long (listing a whole store, sweeping it,
 * writing a long answer) yields with this between its pieces.
 */
import { setImmediate } from "node:timers";

/** Resolves in a later event-loop turn, after the I/O and timers already due. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
