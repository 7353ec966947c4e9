/**
 * Bridges sharing a Redis stamp what they store with their own wall clocks, and a sweep by any of
 * them removes a pending sign-in PENDING_GRACE_MS (one minute) after its deadline by the sweeper's
 * clock. A bridge whose clock runs more than that ahead of the one holding the sign-in removes it
 * before its deadline fires there, and that bridge, finding it gone, takes it for a callback's and
 * says nothing: the client gets OpenVPN's bare timeout instead of "Sign-in was not completed in
 * time". Redis's TIME is the one clock every bridge reads, so each sweep compares this host's
 * with it: two bridges within REDIS_CLOCK_WARNING_MS of Redis are within twice that of each other,
 * well inside the minute.
 */
import type { Redis } from "ioredis";
import { getLogger, words } from "../log.ts";
import { logDue, WarningInterval } from "../warning_interval.ts";

/** How far this host's clock may be from Redis's before a sweep warns. */
export const REDIS_CLOCK_WARNING_MS = 10_000;
/** A clock that stays off is said once in this long (on every sweep at debug level). */
const WARNING_INTERVAL_MS = 600_000;

const log = getLogger("sessions");

export class RedisClockCheck {
  readonly #client: Pick<Redis, "time">;
  readonly #now: () => number;
  readonly #description: string;
  readonly #warnings = new WarningInterval(WARNING_INTERVAL_MS, () => performance.now());

  /** `now`: the store's clock, the one its stamps and sweeps use. */
  constructor(client: Pick<Redis, "time">, now: () => number, description: string) {
    this.#client = client;
    this.#now = now;
    this.#description = description;
  }

  /**
   * Reads Redis's TIME and warns when this host's clock is off it by more than
   * REDIS_CLOCK_WARNING_MS, beyond what the round trip leaves unknown. Never fails: a Redis that
   * refuses TIME (an ACL user without it) or does not answer leaves the check out, and the sweep
   * reports an unreachable Redis itself.
   */
  async check(): Promise<void> {
    const before = this.#now();
    let reply: [number | string, number | string];
    try {
      reply = await this.#client.time() as [number | string, number | string];
    } catch (error) {
      log.debug("Clock check against Redis skipped: {error}", { error: String(error) });
      return;
    }
    const after = this.#now();
    const redisMs = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
    const ahead = (before + after) / 2 - redisMs;
    if (!(Math.abs(ahead) - (after - before) / 2 > REDIS_CLOCK_WARNING_MS)) return;
    logDue(
      this.#warnings,
      log,
      "warning",
      "This host's clock is {seconds} s {direction} Redis's ({redis}): bridges sharing a Redis " +
        "must keep their clocks within a minute of each other, or the sweep of one ahead ends " +
        "another's sign-ins before their deadline and their clients are not told why; keep " +
        "every host's clock synchronised (NTP)",
      {
        seconds: Math.round(Math.abs(ahead) / 1000),
        direction: words(ahead > 0 ? "ahead of" : "behind"),
        redis: this.#description,
      },
    );
  }
}
