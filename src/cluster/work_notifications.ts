/**
 * The cluster's pub/sub connection: work queued for a server and outcomes recorded reach the
 * instances as messages on it. A missed message only delays work to the next poll, which is slow
 * while notifications arrive (`up`) and fast while they cannot.
 *
 * Subscribed again here after every reconnect, not by ioredis (its autoResubscribe is off): it
 * sends that SUBSCRIBE and drops its promise, so a connection lost again before the reply (which
 * maxRetriesPerRequest 0 fails at once) made an unhandled rejection, and that ends the process
 * on Deno and on Bun. Worse, ioredis remembers a channel only once its SUBSCRIBE is answered: the
 * connection after that one came back with no channels at all, while the instance, taking a
 * ready connection for a subscribed one, kept polling slowly for notifications that never came.
 */
import type { Logger } from "@logtape/logtape";
import type { Redis } from "ioredis";

export interface WorkNotificationsDeps {
  /** The cluster's connection; the subscriber is a duplicate of it (same settings). */
  redis: Redis;
  channels: readonly string[];
  log: Logger;
  onMessage: (channel: string, message: string) => void;
  /** `up` changed: the connection was lost, or it is subscribed again. */
  onChange: () => void;
  /**
   * A failure to subscribe that is Redis refusing the ACL user the channels, as the error that
   * names the rule to add (refusedChannels); undefined for any other failure.
   */
  refusal: (error: unknown) => Error | undefined;
}

export class WorkNotifications {
  readonly #deps: WorkNotificationsDeps;
  readonly #subscriber: Redis;
  #subscribed = false;
  /** Counts the connection's losses: a SUBSCRIBE answered on a lost one says nothing of now. */
  #losses = 0;
  /** Past the start's own SUBSCRIBE: every later "ready" is a reconnect to subscribe again. */
  #started = false;

  constructor(deps: WorkNotificationsDeps) {
    this.#deps = deps;
    this.#subscriber = deps.redis.duplicate({ autoResubscribe: false });
    // Without a listener ioredis prints each reconnect failure itself. An outage of Redis is
    // logged by the cluster's own connection (redis_connection.ts).
    this.#subscriber.on("error", () => {});
    this.#subscriber.on("message", deps.onMessage);
    this.#subscriber.on("close", () => {
      this.#losses++;
      this.#subscribed = false;
      deps.onChange();
    });
    this.#subscriber.on("ready", () => {
      if (!this.#started) return;
      this.#subscribe().catch((error) => {
        // Lost again before the reply: the next "ready" tries again, nothing to say. A reply
        // refusing it (the ACL changed meanwhile) lasts until a reconnect.
        if ((error as { name?: unknown })?.name === "ReplyError") this.#reportRefusal(error);
      });
    });
  }

  /** Notifications arrive now: subscribed on the connection that is up. */
  get up(): boolean {
    return this.#subscribed && this.#subscriber.status === "ready";
  }

  /**
   * Connects and subscribes, rejecting with Redis's or the connection's error; either way later
   * reconnects subscribe again. For a failure the caller does not stop on: warnPollingOnly.
   */
  async start(): Promise<void> {
    try {
      await this.#subscriber.connect();
      await this.#subscribe();
    } finally {
      this.#started = true;
    }
  }

  /** Logs a failure to subscribe: work still crosses instances, at the poll interval. */
  warnPollingOnly(error: unknown): void {
    this.#deps.log.warning("Work notifications unavailable, polling only: {error}", {
      error: String(error),
    });
  }

  /**
   * A SUBSCRIBE Redis refused at a reconnect. Refused the channels, the ACL user is refused the
   * scripts that queue work and record outcomes too, since they publish on them: no work crosses
   * instances, an error naming the fix, in the start's words. Any other refusal costs only the
   * notifications.
   */
  #reportRefusal(error: unknown): void {
    const refused = this.#deps.refusal(error);
    if (refused === undefined) {
      this.warnPollingOnly(error);
      return;
    }
    this.#deps.log.error(
      "Work notifications refused, and with them all work between instances: {error}",
      { error: refused.message },
    );
  }

  stop(): void {
    this.#subscriber.disconnect();
  }

  async #subscribe(): Promise<void> {
    const losses = this.#losses;
    await this.#subscriber.subscribe(...this.#deps.channels);
    if (losses !== this.#losses) return;
    this.#subscribed = true;
    // Messages may have been missed while it was down: drain and read outcomes now.
    this.#deps.onChange();
  }
}
