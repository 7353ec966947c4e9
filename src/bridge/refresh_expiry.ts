/**
 * The refresh token's own expiry, when the IdP says it (`refresh_expires_in`: Keycloak ends a
 * refresh token with its SSO session, after "SSO Session Idle", 30 min by default, or "SSO
 * Session Max", 10 h). Where sessions are re-checked at the IdP (`reauth_check = "refresh"`,
 * `recheck_interval`), a session whose refresh token has expired cannot pass its next re-check:
 * admission.ts ends it rather than resume it on the stored claims, and says so.
 */
import type { Logger } from "@logtape/logtape";
import type { Session } from "../sessions/types.ts";
import { WarningInterval } from "../warning_interval.ts";
import { longestRecheckGapMs } from "./recheck_scheduler.ts";

/** For the log: why a refresh token expires at the IdP, and how an administrator avoids it. */
export const IDP_SESSION_HINT = "the IdP session idled out or reached its maximum (Keycloak: " +
  "SSO Session Idle, SSO Session Max); request offline_access or raise those timeouts";

/** Whether the session's refresh token has expired by what the IdP said when it issued it. */
export function refreshTokenExpired(
  session: Pick<Session, "refreshExpiresAt">,
  now: number,
): boolean {
  return session.refreshExpiresAt !== undefined && session.refreshExpiresAt <= now;
}

/** Short refresh tokens are warned about at most this often, with how many came since. */
const SHORT_REFRESH_WARNING_INTERVAL_MS = 10 * 60_000;

/**
 * A sign-in whose refresh token expires before the periodic re-check renews it: every such
 * session ends at a re-check (`invalid_grant`), its user disconnected mid-work. A setting
 * (the IdP's or `recheck_interval`), so said once in a while, not at every sign-in.
 */
export class ShortRefreshTokens {
  readonly #warning: WarningInterval;
  readonly #log: Logger;

  constructor(log: Logger, now: () => number) {
    this.#log = log;
    this.#warning = new WarningInterval(SHORT_REFRESH_WARNING_INTERVAL_MS, now);
  }

  /**
   * `refreshExpiresAt` of a sign-in at `now`, against the longest a session may wait for its
   * re-check under `recheck_interval` (none: nothing to say): two intervals for its first one
   * (recheck_scheduler.ts). A lifetime equal to that counts too: a re-check comes a little after
   * its slot (the refresh's own time, a slice that overran).
   */
  check(
    username: string,
    refreshExpiresAt: number | undefined,
    at: { now: number; recheckIntervalMs: number | undefined },
  ): void {
    const { now, recheckIntervalMs } = at;
    if (recheckIntervalMs === undefined || refreshExpiresAt === undefined) return;
    const lifetimeMs = refreshExpiresAt - now;
    if (lifetimeMs > longestRecheckGapMs(recheckIntervalMs)) return;
    const more = this.#warning.due();
    if (more === undefined) return;
    this.#log.warning(
      "The identity provider gave {username} a refresh token lasting {lifetimeSec} s, no longer " +
        "than twice sessions.recheck_interval ({intervalSec} s; a session's first re-check can " +
        "come two intervals after its sign-in): such sessions can end at a periodic re-check " +
        "(invalid_grant) and their clients be disconnected. Keep recheck_interval under half of " +
        "Keycloak's SSO Session Idle, raise that, or request offline_access ({more} more such " +
        "sign-ins since the last warning)",
      {
        username,
        lifetimeSec: Math.round(lifetimeMs / 1000),
        intervalSec: Math.round(recheckIntervalMs / 1000),
        more,
      },
    );
  }
}
