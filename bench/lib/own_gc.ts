/**
 * The load generator runs in the bench's own process, and its garbage (each storm's ~24 MB of
 * blocks, the answers and latencies) was collected whenever V8 chose: a major collection landing
 * in a paced run stalled the generator and showed as the responder's p99. Measured on B2 (file
 * store, paced 500/s): p99 33-106 ms in runs where the generator's own event loop stalled 43-94 ms,
 * 4-8 ms once the bench collected its garbage before each run. So the bench collects its own
 * garbage before every measured run (as the memory tests do, tests/support/settled_heap.ts) and
 * watches its own event loop while a paced run lasts.
 */
import { forcedGc } from "../../tests/support/settled_heap.ts";

const gc = forcedGc();

/** A full collection now, so that none is due during the run that follows. */
export function collectOwnGarbage(): void {
  gc?.();
}

const TICK_MS = 5;

/**
 * Watches the bench's own event loop; the returned function stops watching and says the longest
 * stall seen (how much later than due a 5 ms tick ran), in ms.
 */
export function watchOwnStalls(): () => number {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - TICK_MS);
    last = now;
  }, TICK_MS);
  return () => {
    clearInterval(timer);
    return Math.max(0, longest);
  };
}
