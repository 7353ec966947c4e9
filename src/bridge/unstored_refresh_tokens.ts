/**
 * Refresh tokens the IdP rotated that the store could not take (Redis past store_timeout, a
 * failing SQLite write). The token the store still holds is dead at an IdP that rotates refresh
 * tokens, and presenting it again would be refused (invalid_grant) and end a session whose
 * grant is alive: so the new token is kept here, in this process, and presented and written in
 * its place until a write of the session succeeds. Another bridge instance sharing the store
 * cannot see it. One object is shared by Admission, which keeps and presents the tokens, and
 * SessionEnd, which revokes a kept token with its session however the session ends (an admin's
 * revoke, a logout, max_per_user, a DISCONNECT read straight from the store) and forgets it.
 */
import type { Logger } from "@logtape/logtape";
import type { Session } from "../sessions/types.ts";

/** Sessions whose rotated token is kept; beyond, the oldest is dropped (with a warning). */
const MAX_UNSTORED_REFRESH_TOKENS = 10_000;

type Tokens = Pick<Session, "refreshToken" | "refreshExpiresAt">;

interface Unstored extends Tokens {
  /** The token the store still holds, dead at the IdP. */
  replaced: string;
}

export class UnstoredRefreshTokens {
  readonly #kept = new Map<string, Unstored>();
  readonly #log: Logger;
  readonly #max: number;

  constructor(log: Logger, max = MAX_UNSTORED_REFRESH_TOKENS) {
    this.#log = log;
    this.#max = max;
  }

  /**
   * `rotated` replaced `presented`, and the session's write failed. When `presented` was itself
   * a kept token, the store still holds the one that one replaced. False when there is nothing
   * to keep: the IdP did not rotate it.
   */
  keep(sessionId: string, presented: string, rotated: Tokens): boolean {
    const { refreshToken, refreshExpiresAt } = rotated;
    if (refreshToken === undefined || refreshToken === presented) return false;
    const earlier = this.#kept.get(sessionId);
    const replaced = earlier?.refreshToken === presented ? earlier.replaced : presented;
    this.#kept.delete(sessionId);
    this.#kept.set(sessionId, { replaced, refreshToken, refreshExpiresAt });
    if (this.#kept.size <= this.#max) return true;
    const [oldest] = this.#kept.keys();
    this.#kept.delete(oldest!);
    this.#log.warning(
      "More than {max} sessions' rotated refresh tokens are waiting for the session store: " +
        "the oldest is dropped, and its session ends at its next refresh",
      { max: this.#max },
    );
    return true;
  }

  /** `session` with the kept token in place of the dead one it holds; else as it is. */
  apply<S extends Session | undefined>(session: S): S {
    if (session === undefined) return session;
    const kept = this.#kept.get(session.sessionId);
    if (kept === undefined || kept.replaced !== session.refreshToken) return session;
    return { ...session, refreshToken: kept.refreshToken, refreshExpiresAt: kept.refreshExpiresAt };
  }

  /** A write of the session succeeded (with the kept token, or a newer one). */
  written(sessionId: string): void {
    this.#kept.delete(sessionId);
  }

  /** The session is deleted: no write will ever take its kept token. */
  forget(sessionId: string): void {
    this.#kept.delete(sessionId);
  }
}
