/**
 * Reconnect delays: exponential from `minMs`, doubling per failed attempt, capped at `maxMs`,
 * with "equal jitter" (half fixed, half random) so that several bridges restarted together do
 * not reconnect in lockstep. Pure; randomness is passed in.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
}

/** Delay before reconnect attempt `attempt` (0 = first retry); `random` returns [0, 1). */
export function reconnectDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const base = Math.min(policy.maxMs, policy.minMs * 2 ** exponent);
  const jitter = Math.min(Math.max(random(), 0), 1);
  return Math.round(base / 2 + (base / 2) * jitter);
}
