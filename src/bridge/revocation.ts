/**
 * Which sessions a revocation ends: those of an IdP SSO session or subject (back-channel
 * logout), or those an administrator names. The ending itself is SessionEnd's.
 */
import type { Logger } from "@logtape/logtape";
import type { VerifiedLogout } from "../oidc/logout_verifier.ts";
import type { Session, SessionStore } from "../sessions/types.ts";
import type { EndReason, EndReport, SessionEnd } from "./session_end.ts";

export type RevocationTarget =
  | { kind: "user"; username: string }
  | { kind: "subject"; subject: string }
  | { kind: "session"; sessionId: string };

export interface RevocationDeps {
  store: SessionStore;
  end: Pick<SessionEnd, "endAll">;
  /** Validates a logout token (signature, claims, replay); throws LogoutTokenError. */
  verifyLogoutToken: (token: string) => Promise<VerifiedLogout>;
  log: Logger;
}

export class Revocation {
  readonly #deps: RevocationDeps;

  constructor(deps: RevocationDeps) {
    this.#deps = deps;
  }

  /**
   * Back-channel logout: with `sid`, the sessions of that IdP session (of that subject, when
   * `sub` is present too); with only `sub`, every session of the subject. Returns how many ended.
   */
  async logout(token: string): Promise<number> {
    const request = await this.#deps.verifyLogoutToken(token);
    try {
      return await this.#logout(request);
    } catch (error) {
      // Not carried out (the store failed): the IdP may send the same token again.
      request.forget();
      throw error;
    }
  }

  async #logout(request: VerifiedLogout): Promise<number> {
    const { store } = this.#deps;
    let sessions: Session[];
    if (request.sid !== undefined) {
      sessions = (await store.findSessionsBySid(request.sid))
        .filter((session) => request.sub === undefined || session.subject === request.sub);
    } else {
      sessions = await store.findSessionsBySubject(request.sub!);
    }
    this.#deps.log.debug("Back-channel logout for sid {sid}, subject {sub}: {found} session(s)", {
      sid: request.sid ?? "-",
      sub: request.sub ?? "-",
      found: sessions.length,
    });
    const { ended } = await this.#endAll(sessions, "backchannel-logout");
    this.#deps.log.info("Back-channel logout ({by}): {ended} session(s) ended", {
      by: request.sid !== undefined ? "sid" : "sub",
      ended,
    });
    return ended;
  }

  /** An administrator's revoke: how many sessions ended, and whose clients are still connected. */
  async revoke(target: RevocationTarget): Promise<EndReport> {
    return await this.#endAll(await this.#find(target), "admin-revoke");
  }

  async #find(target: RevocationTarget): Promise<Session[]> {
    const { store } = this.#deps;
    switch (target.kind) {
      case "user":
        return await store.findSessionsByUsername(target.username);
      case "subject":
        return await store.findSessionsBySubject(target.subject);
      case "session": {
        const session = await store.getSession(target.sessionId);
        return session ? [session] : [];
      }
    }
  }

  #endAll(sessions: readonly Session[], reason: EndReason): Promise<EndReport> {
    return this.#deps.end.endAll(sessions.map((session) => session.sessionId), reason);
  }
}
