/**
 * A sweep of the file store removes expired rows in transactions of SWEEP_BATCH, each in its
 * own event-loop turn: rows created together expire together, and one DELETE of 100,000
 * sessions held the loop for half a second (bench/README.md).
 */
import { nextTurn } from "../next_turn.ts";

/** Expired rows removed per transaction and event-loop turn: about 1-2 ms each. */
export const SWEEP_BATCH = 256;

/** Calls `deleteBatch(SWEEP_BATCH)` until it removes fewer; returns how many it removed. */
export async function deleteInBatches(
  deleteBatch: (limit: number) => Promise<number>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = await deleteBatch(SWEEP_BATCH);
    total += removed;
    if (removed < SWEEP_BATCH) return total;
    await nextTurn();
  }
}
