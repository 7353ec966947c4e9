/**
 * The lease on one OpenVPN server's management interface, as this instance sees it: a pure
 * state machine fed with what Redis answered and when each request was sent. Redis counts a
 * lease's expiry from when it received the request, which is never before we sent it, so
 * `sentAt + lease` is a bound this instance can check on its own clock, paused or cut off.
 * Every time here (`sentAt`, `now`, `validUntil`) is lease time (lease_time.ts), never the wall
 * clock alone: stepped back, it would let a holder cut off from Redis write on past the expiry.
 */

export interface LeaseTiming {
  /** How long Redis keeps a lease that is not renewed (`[cluster] lease`). */
  leaseMs: number;
  /** Renewals are sent this often while holding: three tries before the lease runs out. */
  renewEveryMs: number;
  /** A standby asks for the lease this often, so it takes over soon after the holder stops. */
  retryEveryMs: number;
  /**
   * Given up on our own clock this much before Redis would expire the lease, for clock rate
   * differences between this host and Redis.
   */
  marginMs: number;
  /**
   * A holder whose management link has not been up for this long gives the lease up (it may be
   * cut off from OpenVPN while another instance is not), and asks for it again only after
   * `yieldPauseMs`, long enough for a standby's next request to come first.
   */
  yieldAfterMs: number;
  yieldPauseMs: number;
}

/** `[cluster] lease` unless set; also how long a bridge outside a cluster claims its names. */
export const DEFAULT_LEASE_MS = 10_000;
export const LEASE_MIN_MS = 3_000;
export const LEASE_MAX_MS = 120_000;

export function leaseTiming(leaseMs: number): LeaseTiming {
  const retryEveryMs = Math.min(1_000, Math.floor(leaseMs / 5));
  return {
    leaseMs,
    renewEveryMs: Math.floor(leaseMs / 3),
    retryEveryMs,
    marginMs: Math.min(500, Math.floor(leaseMs / 20)),
    yieldAfterMs: 3 * leaseMs,
    // Three of a standby's requests come first.
    yieldPauseMs: 3 * retryEveryMs,
  };
}

/** What a new holder is given to connect to OpenVPN, take over and carry a command out. */
export const TAKEOVER_WORK_MS = 3_000;

/**
 * How long a command sent through another instance waits for its outcome. The worst takeover:
 * the holder renewed its lease, the command was queued, and the holder died at that moment.
 * Redis keeps the lease for `leaseMs` after the renewal, a standby asks for it every
 * `retryEveryMs`, and the new holder then connects, adopts the sign-ins in progress and carries
 * the command out.
 */
export function deliveryWaitMs(timing: LeaseTiming): number {
  return timing.leaseMs + timing.retryEveryMs + TAKEOVER_WORK_MS;
}

export type LeaseState =
  | { kind: "standby" }
  | { kind: "holding"; token: number; validUntil: number };

/** What happened to a lease, for whoever runs the link. */
export type LeaseChange = "acquired" | "lost" | "none";

export class Lease {
  readonly timing: LeaseTiming;
  #state: LeaseState = { kind: "standby" };

  constructor(timing: LeaseTiming) {
    this.timing = timing;
  }

  get state(): LeaseState {
    return this.#state;
  }

  /** The fencing token while holding, else undefined. */
  get token(): number | undefined {
    return this.#state.kind === "holding" ? this.#state.token : undefined;
  }

  /**
   * Whether this instance may write to OpenVPN now: it holds the lease and, by its own clock,
   * no other instance can have taken it yet. Checked before every write.
   */
  mayWrite(now: number): boolean {
    return this.#state.kind === "holding" && now < this.#state.validUntil;
  }

  /**
   * Redis granted the lease with this fencing token to a request sent at `sentAt`. Asked for
   * only on standby, and every grant has a new token, so this is always a takeover.
   */
  acquired(token: number, sentAt: number): "acquired" {
    this.#state = { kind: "holding", token, validUntil: this.#until(sentAt) };
    return "acquired";
  }

  /** A renewal sent at `sentAt` found the lease still ours and extended it. */
  renewed(token: number, sentAt: number): void {
    if (this.#state.kind !== "holding" || this.#state.token !== token) return;
    this.#state = { kind: "holding", token, validUntil: this.#until(sentAt) };
  }

  /** Redis says the lease is someone else's (or gone), or we released it. */
  lost(): LeaseChange {
    if (this.#state.kind === "standby") return "none";
    this.#state = { kind: "standby" };
    return "lost";
  }

  /**
   * Called on every tick: a holder whose renewals have not got through by the deadline gives
   * the lease up (Redis may already have handed it to another instance).
   */
  check(now: number): LeaseChange {
    if (this.#state.kind === "holding" && now >= this.#state.validUntil) return this.lost();
    return "none";
  }

  /** Milliseconds until the next request to Redis: renew while holding, else try to acquire. */
  nextDelay(): number {
    return this.#state.kind === "holding" ? this.timing.renewEveryMs : this.timing.retryEveryMs;
  }

  #until(sentAt: number): number {
    return sentAt + this.timing.leaseMs - this.timing.marginMs;
  }
}
