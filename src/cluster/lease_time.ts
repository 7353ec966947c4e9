/**
 * The clock the lease fence runs on (lease.ts): milliseconds that advance, at each reading, by
 * the larger of what the monotonic clock and the wall clock moved since the previous one, and
 * never go back. Each clock alone fails one way: the wall clock stepped back (chrony, an admin)
 * would keep a holder cut off from Redis writing past the lease's expiry, and the monotonic
 * clock stands still while the host is suspended (Linux), so a holder waking up would write on
 * for what was left of its lease. Taking the larger step can only end a lease early: a wall clock
 * stepped forward gives up a healthy lease, which costs a takeover, never two writers.
 */
import type { Clock } from "../clock.ts";

export function leaseTime(clock: Pick<Clock, "now" | "monotonic">): () => number {
  let monotonic = clock.monotonic();
  let wall = clock.now();
  let elapsed = 0;
  return () => {
    const monotonicNow = clock.monotonic();
    const wallNow = clock.now();
    elapsed += Math.max(monotonicNow - monotonic, wallNow - wall, 0);
    monotonic = monotonicNow;
    wall = wallNow;
    return elapsed;
  };
}
