/**
 * The one clock and timer port. Everything that reads the time or waits for it (management
 * command deadlines and reconnects, pending-login expiry, the store sweeper, IdP timeouts) gets
 * a Clock from the composition root, so tests drive time with a fake instead of sleeping.
 */
import { clearTimeout as clearNodeTimeout, setTimeout as setNodeTimeout } from "node:timers";

declare const timerBrand: unique symbol;

/** A timer as `Clock.setTimeout` returns it; only that clock's `clearTimeout` understands it. */
export type TimerHandle = { readonly [timerBrand]: true };

export interface Clock {
  /** Milliseconds since the epoch: for times that are stored or shared with other instances. */
  now(): number;
  /**
   * Milliseconds from an arbitrary origin, never stepped (NTP, chrony or an admin setting the
   * wall clock moves `now()`, not this). For durations measured on this host only, such as the
   * lease fence; never stored, nor compared with `now()` or another instance's reading.
   */
  monotonic(): number;
  /**
   * Calls back once, `ms` from now. `keepAlive: false` lets the process exit while the timer is
   * pending (background housekeeping); by default a timer keeps it alive, like any timer.
   */
  setTimeout(callback: () => void, ms: number, options?: { keepAlive?: boolean }): TimerHandle;
  /** Cancels a timer; `undefined` and timers that already fired are ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/**
 * The longest delay a timer takes (2^31 - 1 ms, about 24.8 days): Deno, Bun and Node fire a
 * longer one after 1 ms instead, with a warning. Every delay that can grow past it is cut to it.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

type NodeTimer = ReturnType<typeof setNodeTimeout>;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(callback, ms, options) {
    const timer = setNodeTimeout(callback, ms);
    if (options?.keepAlive === false) timer.unref();
    return timer as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearNodeTimeout(handle as unknown as NodeTimer);
  },
};
