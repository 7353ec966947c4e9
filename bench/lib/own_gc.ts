/**
 * The load generator runs in the bench's own process, and its garbage (each storm's ~24 MB of
 * blocks, the answers and latencies) was collected whenever V8 chose: a major collection landing
 * in a paced run stalled the generator and showed as the responder's p99. Measured on B2 (file
 * store, paced 500/s): p99 33-106 ms in runs where the generator's own event loop stalled 43-94 ms,
 * 4-8 ms once the bench collected its garbage before each run. So the bench collects its own
 * garbage before every measured run (as the memory tests do, tests/support/settled_heap.ts) and
 * watches its own event loop while a paced run lasts.
 */
import v8 from "node:v8";
import { forcedGc } from "../../tests/support/settled_heap.ts";

// V8's memory reducer answers a busy spell (a storm) with a full collection every ~0.5 s for a
// while; in the generator those can land in the paced runs that follow the storms. The generator
// is not what is measured, so it keeps its memory instead. (One Bun B1 run before: the
// reference's three paced p99s 5.4 / 1.5 / 0.7 ms; after: 1.4 / 2.7 / 1.3. On Deno the first
// paced run of each responder stayed the slowest in two runs of three.)
v8.setFlagsFromString("--no-memory-reducer");

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
