/**
 * How many requests the bridge has open at the IdP at once. Without a bound, every event that
 * asks the IdP started its request at once: when OpenVPN stopped with 10,000 clients whose
 * sessions end as they leave, 10,000 revocations went out together (bench/revocation_storm.ts,
 * a stub IdP answering in 200 ms: 1,918 requests open at once over 7,458 new connections, far
 * past a default open-file limit of 1,024), and a reconnect storm with
 * `sessions.reauth_check = "refresh"` sent a refresh grant per client at once.
 *
 * Two lanes share the slots:
 * - waited: someone is waiting for the answer (a login's code exchange, a REAUTH's refresh,
 *   discovery, keys, userinfo). These take any free slot, first in first out, and their
 *   deadline (`oidc.http_timeout`) runs while they queue, so a REAUTH waits no longer than it
 *   did before.
 * - background: nobody waits (revoking the refresh token of a session that ended). These hold
 *   at most `backgroundLimit` slots, start only when no waited request queues, and their
 *   deadline starts when they are sent; one that found no slot within `maxBackgroundWaitMs` is
 *   dropped when its turn comes. A storm of them drains at the IdP's pace and never delays a
 *   login.
 * When the bridge stops, `close()` refuses whatever still waits for a slot.
 */
import { IdpUnreachableError } from "./errors.ts";

export type GateLane = "waited" | "background";

export interface RequestGateLimits {
  /** Requests open at the IdP at once, both lanes together. */
  limit: number;
  /** Of those, background requests. */
  backgroundLimit: number;
  /** Background requests waiting for a slot; beyond this, a new one is refused at once. */
  maxQueuedBackground: number;
  /** A background request that waited longer for a slot is dropped when its turn comes. */
  maxBackgroundWaitMs: number;
}

/** Revocations hold at most this many of the slots, and always leave one to the rest. */
const BACKGROUND_SLOTS = 4;
/** The fewest `oidc.max_open_requests`: one slot for revocations, one always free of them. */
export const MIN_OPEN_REQUESTS = 2;
const MAX_QUEUED_BACKGROUND = 100_000;
/**
 * A revocation sent long after its session ended could reach the IdP after the same user signed
 * in again, and an IdP that keeps one grant per user session and client (Keycloak's client
 * session) may end the new sign-in's grant with it. Before the gate, a revocation went out at
 * once (within `oidc.http_timeout`); a minute's wait keeps that window small.
 */
const MAX_BACKGROUND_WAIT_MS = 60_000;

/**
 * The limits for `oidc.max_open_requests` (default 32: a Keycloak near the bridge answers a
 * refresh grant in a few ms, so 32 open carry well over 1,000 a second; an IdP far away, at
 * 100 ms a round trip, about 320).
 */
export function idpRequestLimits(maxOpenRequests: number): RequestGateLimits {
  if (!Number.isSafeInteger(maxOpenRequests) || maxOpenRequests < MIN_OPEN_REQUESTS) {
    throw new RangeError(
      `Invalid oidc.max_open_requests: ${maxOpenRequests} (at least ${MIN_OPEN_REQUESTS})`,
    );
  }
  return {
    limit: maxOpenRequests,
    backgroundLimit: Math.min(BACKGROUND_SLOTS, maxOpenRequests - 1),
    maxQueuedBackground: MAX_QUEUED_BACKGROUND,
    maxBackgroundWaitMs: MAX_BACKGROUND_WAIT_MS,
  };
}

interface Waiter {
  start: () => void;
  /** Rejects the caller without starting (the gate closed, or it waited too long). */
  refuse: (error: Error) => void;
  /** Background only: when it is too late to start. */
  staleAt?: number;
  /** Set once started or given up: such an entry is skipped when its turn comes. */
  done: boolean;
}

/** A first-in first-out queue that drops given-up entries when they reach the front. */
class WaiterQueue {
  #items: Waiter[] = [];
  #head = 0;
  #live = 0;

  get size(): number {
    return this.#live;
  }

  push(waiter: Waiter): void {
    this.#items.push(waiter);
    this.#live++;
  }

  /** A waiter given up while queued: no longer counted, skipped by `shift`. */
  forget(): void {
    this.#live--;
  }

  /** Every live waiter, the queue left empty. */
  drain(): Waiter[] {
    const live = this.#items.slice(this.#head).filter((waiter) => !waiter.done);
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    return live;
  }

  shift(): Waiter | undefined {
    while (this.#head < this.#items.length) {
      const waiter = this.#items[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      if (waiter.done) continue;
      this.#live--;
      return waiter;
    }
    return undefined;
  }
}

export class RequestGate {
  readonly #limits: RequestGateLimits;
  #open = 0;
  #openBackground = 0;
  readonly #waited = new WaiterQueue();
  readonly #background = new WaiterQueue();

  readonly #now: () => number;
  #closed = false;

  /** `now`: milliseconds on a steady scale, never the wall clock (the OIDC client's monotonic). */
  constructor(limits: RequestGateLimits, now: () => number = () => performance.now()) {
    this.#now = now;
    const { limit, backgroundLimit, maxQueuedBackground, maxBackgroundWaitMs } = limits;
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`Invalid IdP request limit ${name}: ${value}`);
      }
    }
    if (backgroundLimit > limit) {
      throw new RangeError(`IdP background limit ${backgroundLimit} exceeds the limit ${limit}`);
    }
    this.#limits = { limit, backgroundLimit, maxQueuedBackground, maxBackgroundWaitMs };
  }

  /** Requests open now and waiting now, per lane (for tests). */
  get stats(): { open: number; openBackground: number; waited: number; background: number } {
    return {
      open: this.#open,
      openBackground: this.#openBackground,
      waited: this.#waited.size,
      background: this.#background.size,
    };
  }

  /**
   * Runs `task` once a slot of `lane` is free. A waited call whose `signal` aborts while it
   * queues rejects with an IdpUnreachableError (`describe()` says which deadline); a task that
   * has started is the caller's to cut short.
   */
  run<T>(
    lane: GateLane,
    task: () => Promise<T>,
    signal?: AbortSignal,
    describe?: () => string,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#mayStart(lane)) return this.#start(lane, task);
    if (lane === "background" && this.#background.size >= this.#limits.maxQueuedBackground) {
      return Promise.reject(
        new IdpUnreachableError(
          `IdP request refused: ${this.#background.size} background requests already wait ` +
            `for one of ${this.#limits.backgroundLimit} slots`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const queue = lane === "waited" ? this.#waited : this.#background;
      const onAbort = () => {
        if (waiter.done) return;
        waiter.done = true;
        queue.forget();
        reject(
          new IdpUnreachableError(
            `${describe?.() ?? "IdP request: deadline passed"} (waited for one of ` +
              `${this.#limits.limit} slots; ${this.#open} requests open at the IdP)`,
          ),
        );
      };
      const waiter: Waiter = {
        done: false,
        refuse: (error) => {
          waiter.done = true;
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
        start: () => {
          waiter.done = true;
          signal?.removeEventListener("abort", onAbort);
          this.#start(lane, task).then(resolve, reject);
        },
      };
      if (lane === "background") waiter.staleAt = this.#now() + this.#limits.maxBackgroundWaitMs;
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /**
   * Refuses every request still waiting for a slot, and every later one: a bridge that stops
   * sends nothing more (revocations would otherwise drain for up to a minute after a stop that
   * does not end the process). Requests already sent run to their own deadlines.
   */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waited.drain(), ...this.#background.drain()]) {
      waiter.refuse(closedError());
    }
  }

  #mayStart(lane: GateLane): boolean {
    if (this.#open >= this.#limits.limit) return false;
    if (lane === "waited") return true;
    return this.#waited.size === 0 && this.#openBackground < this.#limits.backgroundLimit;
  }

  async #start<T>(lane: GateLane, task: () => Promise<T>): Promise<T> {
    this.#open++;
    if (lane === "background") this.#openBackground++;
    try {
      return await task();
    } finally {
      this.#open--;
      if (lane === "background") this.#openBackground--;
      this.#next();
    }
  }

  /** Gives freed slots to the waiting: waited calls first. */
  #next(): void {
    while (this.#open < this.#limits.limit) {
      const waiter = this.#waited.shift() ??
        (this.#openBackground < this.#limits.backgroundLimit
          ? this.#background.shift()
          : undefined);
      if (waiter === undefined) return;
      if (waiter.staleAt !== undefined && this.#now() > waiter.staleAt) {
        waiter.refuse(
          new IdpUnreachableError(
            `IdP request not sent: no slot of ${this.#limits.backgroundLimit} for background ` +
              `requests freed within ${this.#limits.maxBackgroundWaitMs} ms`,
          ),
        );
      } else {
        waiter.start();
      }
    }
  }
}

function closedError(): IdpUnreachableError {
  return new IdpUnreachableError("IdP request not sent: the bridge is stopping");
}
