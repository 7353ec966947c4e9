/**
 * Redis refusing the store's calls at run time for want of a permission: an ACL changed after
 * the start (`ACL SETUSER ... -evalsha`, a key pattern taken away) answers every call with
 * NOPERM, and a `requirepass` set meanwhile with NOAUTH. Neither passes by itself: it is the
 * Redis user's ACL (or password) to fix, not an outage. So such a call fails as an error that
 * names the user and the fix (credentialsFix, as the start's), never as StoreUnavailableError:
 * `store_unreachable = "allow"` admits nobody on a store that refuses it, callers deny (fail
 * closed), and a logout or revoke is kept and retried as for any other failure. The store's
 * own line says it once a minute with a count, naming the fix (before: a bare `NOPERM ...`);
 * each refused client event is still logged where it is denied (server_link.ts), with this
 * error's text.
 */
import { getLogger, words } from "../log.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { classifyRedisError, refusedCredentials } from "./redis_connection.ts";

const log = getLogger("sessions");

export class RedisRefusals {
  readonly #where: string;
  readonly #username: string | undefined;
  readonly #report: WarningInterval;
  /** Off while the store opens: the start's refusal is the start's error, told once. */
  reporting = false;

  /** `where`: the URL without credentials; `username`: the ACL user (none: default). */
  constructor(where: string, username: string | undefined, now: () => number) {
    this.#where = where;
    this.#username = username;
    this.#report = new WarningInterval(WARNING_INTERVAL_MS, now);
  }

  /** What a failed store call throws: a refusal as one naming the fix, else classified. */
  classify(error: unknown): unknown {
    const refused = refusedCredentials(error, this.#where, this.#username);
    if (refused === undefined) return classifyRedisError(error);
    const skipped = this.reporting ? this.#report.due() : undefined;
    if (skipped !== undefined) {
      log.error("Session store calls refused, denying what needs them: {error}{more}", {
        error: refused.message,
        more: words(skipped > 0 ? ` (${skipped} more refused since the last report)` : ""),
      });
    }
    return refused;
  }
}
