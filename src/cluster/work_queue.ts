/**
 * Work items in Redis: the requesting instance queues an item and waits for its outcome; the
 * lease holder takes items and records outcomes under its fencing token (scripts in
 * redis_scripts.ts). Waiting polls the outcome key: a few reads per sign-in or logout, which
 * are rare next to renegotiations (those never leave the holder).
 */
import type { Redis } from "ioredis";
import type { Clock } from "../clock.ts";
import { classifyRedisError } from "../sessions/redis_connection.ts";
import { ENQUEUE, RECORD, TAKE } from "./redis_scripts.ts";
import {
  decodeOutcome,
  decodeWork,
  encodeOutcome,
  encodeWork,
  type WorkItem,
  workKey,
  type WorkOp,
  type WorkOutcome,
} from "./work_item.ts";

const POLL_MS = 50;
/** Outcomes stay long enough for a requester that polls late, no longer. */
const OUTCOME_TTL_MS = 60_000;
/** An item's key outlives its deadline a little, so a late duplicate still joins it. */
const ITEM_GRACE_MS = 5_000;

/** Every key of the cluster, under `sessions.key_prefix` + "c:". */
export class ClusterKeys {
  readonly prefix: string;
  constructor(keyPrefix: string) {
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
}

/** One running item as the holder sees it; `item` is undefined when its entry expired. */
export interface TakenWork {
  key: string;
  item: WorkItem | undefined;
  recorded: WorkOutcome | undefined;
}

export class WorkQueue {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #clock: Clock;

  constructor(redis: Redis, keys: ClusterKeys, clock: Clock) {
    this.#redis = redis;
    this.#keys = keys;
    this.#clock = clock;
  }

  /**
   * Queues `op` for the holder of `server`'s link and waits until an outcome is recorded or
   * `waitMs` passed (then `expired`: the holder does not start an item past its deadline).
   */
  async submit(server: string, op: WorkOp, waitMs: number): Promise<WorkOutcome> {
    const key = workKey(op);
    const expiresAt = this.#clock.now() + waitMs;
    const item: WorkItem = { ...op, expiresAt };
    await this.#call(() =>
      this.#redis.eval(
        ENQUEUE,
        3,
        this.#keys.item(server, key),
        this.#keys.outcome(server, key),
        this.#keys.queue(server),
        key,
        encodeWork(item),
        String(waitMs + ITEM_GRACE_MS),
        this.#keys.channel(server),
      )
    );
    // A holder may start an item just before its deadline: give it a moment to finish.
    const giveUpAt = expiresAt + 2 * POLL_MS + 1_000;
    for (;;) {
      const text = await this.#call(() => this.#redis.get(this.#keys.outcome(server, key)));
      const outcome = text === null ? undefined : decodeOutcome(text);
      if (outcome !== undefined) return outcome;
      if (this.#clock.now() >= giveUpAt) return { kind: "expired" };
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, POLL_MS));
    }
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
    ) as string[];
    const taken: TakenWork[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      taken.push({
        key: reply[i]!,
        item: reply[i + 1] === "" ? undefined : decodeWork(reply[i + 1]!),
        recorded: reply[i + 2] === "" ? undefined : decodeOutcome(reply[i + 2]!),
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
