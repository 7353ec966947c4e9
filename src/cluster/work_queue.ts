/**
 * Work items in Redis: the requesting instance queues an item and waits for its outcome; the
 * lease holder takes items and records outcomes under its fencing token (scripts in
 * redis_scripts.ts). Recording an outcome publishes its key, and the waiting instance reads the
 * outcome when told (`outcomeRecorded`). A published message can be missed (the subscriber
 * reconnecting), so the waiter also reads now and then: every NOTIFIED_POLL_MS while
 * notifications arrive, every POLL_MS while they do not.
 */
import type { Redis } from "ioredis";
import type { Clock, TimerHandle } from "../clock.ts";
import { classifyRedisError } from "../sessions/redis_connection.ts";
import { ENQUEUE, RECORD, TAKE } from "./redis_scripts.ts";
import { randomToken } from "../random_token.ts";
import { CommandUndeliveredError } from "../bridge/commander.ts";
import {
  decodeOutcome,
  decodeWork,
  encodeOutcome,
  encodeWork,
  workKey,
  type WorkOp,
  type WorkOutcome,
} from "./work_item.ts";

/** The random part of a work item's key (work_item.ts, workKey): 96 bits. */
const WORK_NONCE_BYTES = 12;

const POLL_MS = 50;
const NOTIFIED_POLL_MS = 500;
/** Outcomes stay long enough for a requester that polls late, no longer. */
const OUTCOME_TTL_MS = 60_000;
/**
 * An item's key outlives its deadline a little, so a late duplicate still joins it. The key's
 * TTL is thus the deadline: the holder reads it (TAKE) and takes the grace off, so that no two
 * hosts' wall clocks are compared (a holder whose clock ran ahead expired every item).
 */
const ITEM_GRACE_MS = 5_000;
/**
 * How long a kill that names its client's run outlives its deadline instead. Its requester stops
 * waiting at the deadline, but a holder that takes it later still sends it in that run (expired:
 * work_runner.ts, deferKill; the guard, sign_in_guard.ts, refuses it in another run), so it must
 * not vanish merely because no instance held the link for a while (every instance restarting or
 * cut off from OpenVPN, a bridge outside the cluster claiming the name): its session is deleted
 * already, and nothing else disconnects a revoked user before the next REAUTH (never, with
 * reneg-sec 0). 12 hours, fixed, whatever sessions.lifetime is (whose default it matches): it is
 * part of the stored format, since a holder finds a kill's deadline again by taking it off the
 * key's TTL (keptPastDeadlineMs), so every instance and version must agree on it. A revocation the
 * store could not take is retried for sessions.lifetime instead (revocation_retries.ts), which
 * may be longer or shorter. Bounded in number too: one item per ended session
 * at a time (a holder that defers it records the item first). A kill without a run is not kept:
 * late, the holder cannot tell its client from a stranger that OpenVPN, restarted meanwhile, gave
 * the same cid.
 */
const KILL_KEPT_MS = 12 * 3_600_000;

/**
 * How long `op`'s key outlives its deadline: added to its TTL at ENQUEUE, taken off at TAKE to
 * find the deadline again. In a rolling upgrade, an earlier version's holder reads a kept kill's
 * deadline as 12 hours later and carries it out (through the guard); this version's holder reads
 * an earlier version's kill with a run as expired at once and defers it (sent in its run).
 */
function keptPastDeadlineMs(op: WorkOp): number {
  return op.op === "kill" && op.openvpnRun !== undefined ? KILL_KEPT_MS : ITEM_GRACE_MS;
}

/** Every key of the cluster, under `sessions.key_prefix` + "c:". */
export class ClusterKeys {
  /** sessions.key_prefix, under which bridges outside a cluster claim their server names. */
  readonly keyPrefix: string;
  readonly prefix: string;
  constructor(keyPrefix: string) {
    this.keyPrefix = keyPrefix;
    this.prefix = `${keyPrefix}c:`;
  }
  lease(server: string): string {
    return `${this.prefix}lease:${server}`;
  }
  fence(server: string): string {
    return `${this.prefix}fence:${server}`;
  }
  queue(server: string): string {
    return `${this.prefix}q:${server}`;
  }
  running(server: string): string {
    return `${this.prefix}run:${server}`;
  }
  item(server: string, key: string): string {
    return `${this.prefix}w:${server}:${key}`;
  }
  outcome(server: string, key: string): string {
    return `${this.prefix}o:${server}:${key}`;
  }
  channel(server: string): string {
    return `${this.prefix}n:${server}`;
  }
  outcomeChannel(server: string): string {
    return `${this.prefix}d:${server}`;
  }
}

/** One running item as the holder sees it; `item` is undefined when its entry expired. */
export interface TakenWork {
  key: string;
  item: WorkOp | undefined;
  recorded: WorkOutcome | undefined;
  /** Until the requester's deadline, by Redis's clock; 0 or less once it passed. */
  msLeft: number;
}

export class WorkQueue {
  readonly #redis: Pick<Redis, "eval" | "get">;
  readonly #keys: ClusterKeys;
  readonly #clock: Clock;
  readonly #notified: () => boolean;
  /** Who waits for which outcome (`<server> <key>`): woken to read it. */
  readonly #waiting = new Map<string, Set<() => void>>();

  /** `notified`: whether outcome notifications arrive now (the subscriber is up). */
  constructor(
    redis: Pick<Redis, "eval" | "get">,
    keys: ClusterKeys,
    clock: Clock,
    notified: () => boolean = () => false,
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#clock = clock;
    this.#notified = notified;
  }

  /** A message on `server`'s outcome channel: the outcome of `key` is recorded. */
  outcomeRecorded(server: string, key: string): void {
    for (const wake of this.#waiting.get(`${server} ${key}`) ?? []) wake();
  }

  /** Every waiter reads its outcome now (notifications may have been missed). */
  wakeAll(): void {
    for (const waiters of this.#waiting.values()) for (const wake of waiters) wake();
  }

  /**
   * Queues `op` for the holder of `server`'s link and waits until an outcome is recorded or
   * `waitMs` passed (then `expired`: the holder does not start an item past its deadline).
   */
  async submit(server: string, op: WorkOp, waitMs: number): Promise<WorkOutcome> {
    // From here on, a Redis error does not say the command was not carried out: the script may
    // have run (a reply lost, a timeout of ours), and a holder may carry the item out.
    const { key, expiresAt } = await this.#enqueue(server, op, waitMs).catch((error) => {
      throw new CommandUndeliveredError(
        `OpenVPN server ${server}: the command may or may not have been queued: ${String(error)}`,
      );
    });
    // A holder may start an item just before its deadline: give it a moment to finish.
    const giveUpAt = expiresAt + 2 * POLL_MS + 1_000;
    const waiter = `${server} ${key}`;
    let wake = () => {};
    const waiters = this.#waiting.get(waiter) ?? new Set();
    this.#waiting.set(waiter, waiters);
    const woken = () => wake();
    waiters.add(woken);
    try {
      for (;;) {
        // Armed before reading: a notification that comes during the read is not lost.
        const told = new Promise<void>((resolve) => (wake = resolve));
        // A read that fails (Redis restarting) is tried again at the next poll, until giveUpAt.
        const text = await this.#call(() => this.#redis.get(this.#keys.outcome(server, key)))
          .catch(() => null);
        const outcome = text === null ? undefined : decodeOutcome(text);
        if (outcome !== undefined) return outcome;
        if (this.#clock.now() >= giveUpAt) return { kind: "expired" };
        let timer: TimerHandle | undefined;
        await Promise.race([
          told,
          new Promise<void>((resolve) => {
            timer = this.#clock.setTimeout(resolve, this.#notified() ? NOTIFIED_POLL_MS : POLL_MS);
          }),
        ]);
        this.#clock.clearTimeout(timer);
      }
    } finally {
      waiters.delete(woken);
      if (waiters.size === 0) this.#waiting.delete(waiter);
    }
  }

  /**
   * Queues `op` for the holder of `server`'s link, to be carried out within `waitMs`, without
   * waiting for its outcome. A Redis error (classified) may still mean it was queued.
   */
  async enqueue(server: string, op: WorkOp, waitMs: number): Promise<void> {
    await this.#enqueue(server, op, waitMs);
  }

  async #enqueue(
    server: string,
    op: WorkOp,
    waitMs: number,
  ): Promise<{ key: string; expiresAt: number }> {
    const key = workKey(op, () => randomToken(WORK_NONCE_BYTES));
    const expiresAt = this.#clock.now() + waitMs;
    await this.#call(() =>
      this.#redis.eval(
        ENQUEUE,
        3,
        this.#keys.item(server, key),
        this.#keys.outcome(server, key),
        this.#keys.queue(server),
        key,
        encodeWork(op, expiresAt),
        String(waitMs + keptPastDeadlineMs(op)),
        this.#keys.channel(server),
      )
    );
    return { key, expiresAt };
  }

  /** Moves waiting items to the running list and returns up to `batch` running items. */
  async take(server: string, batch: number): Promise<TakenWork[]> {
    const reply = await this.#call(() =>
      this.#redis.eval(
        TAKE,
        2,
        this.#keys.queue(server),
        this.#keys.running(server),
        this.#keys.prefix,
        server,
        String(batch),
      )
    ) as (string | number)[];
    const taken: TakenWork[] = [];
    for (let i = 0; i + 3 < reply.length; i += 4) {
      const [key, text, recorded, ttl] = reply.slice(i, i + 4);
      const item = text === "" ? undefined : decodeWork(String(text));
      taken.push({
        key: String(key),
        item,
        recorded: recorded === "" ? undefined : decodeOutcome(String(recorded)),
        // PTTL: -2 for a key gone, -1 for one without a TTL (not one ENQUEUE wrote).
        msLeft: item !== undefined && typeof ttl === "number" && ttl > 0
          ? ttl - keptPastDeadlineMs(item)
          : 0,
      });
    }
    return taken;
  }

  /** Records an outcome; false when `token` is no longer the newest (another holder took over). */
  async record(
    server: string,
    token: number,
    key: string,
    outcome: WorkOutcome,
  ): Promise<boolean> {
    const done = await this.#call(() =>
      this.#redis.eval(
        RECORD,
        4,
        this.#keys.fence(server),
        this.#keys.running(server),
        this.#keys.outcome(server, key),
        this.#keys.item(server, key),
        String(token),
        key,
        encodeOutcome(outcome),
        String(OUTCOME_TTL_MS),
        this.#keys.outcomeChannel(server),
      )
    );
    return done === 1;
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyRedisError(error);
    }
  }
}
