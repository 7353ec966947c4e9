/**
 * The one place where a session is ended on purpose (back-channel logout, an admin's revoke, a
 * failed periodic re-check, too many sessions of one user): the session is deleted, its live
 * client is killed on the OpenVPN server it belongs to, and its refresh token is revoked at the
 * IdP. Audit logs and metrics hook in here.
 */
import type { Logger } from "@logtape/logtape";
import type { OidcClient } from "../oidc/client.ts";
import type { Session, SessionStore } from "../sessions/types.ts";
import type { CommanderLookup } from "./commander.ts";
import type { KeyedLock } from "./keyed_lock.ts";

export type EndReason =
  | "backchannel-logout"
  | "admin-revoke"
  | "recheck-denied"
  | "max-per-user";

const REASON_TEXT: Record<EndReason, string> = {
  "backchannel-logout": "the user logged out at the identity provider",
  "admin-revoke": "an administrator revoked it",
  "recheck-denied": "the identity provider no longer allows the user",
  "max-per-user": "the user started a newer session beyond sessions.max_per_user",
};

/**
 * `client-kill` with RESTART: the client reconnects at once, finds no session and is sent to
 * the browser (a HALT would leave it stopped with nothing to tell the user why).
 */
export const KILL_MESSAGE = "RESTART";

export interface SessionEndDeps {
  store: SessionStore;
  commanders: CommanderLookup;
  oidc: Pick<OidcClient, "revoke">;
  /** Shared with ClientEvents, so an ending never interleaves with a REAUTH or reconnect. */
  sessionLock: KeyedLock;
  log: Logger;
}

export interface EndedSession {
  session: Session;
  reason: EndReason;
  /** Whether a connected client was killed. */
  killed: boolean;
}

export type SessionEndListener = (ended: EndedSession) => void;

export class SessionEnd {
  readonly #deps: SessionEndDeps;
  readonly #listeners: SessionEndListener[] = [];

  constructor(deps: SessionEndDeps) {
    this.#deps = deps;
  }

  /** Called after every ended session (audit log, metrics). */
  onEnded(listener: SessionEndListener): void {
    this.#listeners.push(listener);
  }

  /** Ends each of the sessions; returns how many were still there to end. */
  async endAll(sessionIds: Iterable<string>, reason: EndReason): Promise<number> {
    let ended = 0;
    for (const id of new Set(sessionIds)) {
      if (await this.end(id, reason)) ended++;
    }
    return ended;
  }

  /** Ends one session; false when it was already gone. */
  end(sessionId: string, reason: EndReason): Promise<boolean> {
    const { store, sessionLock } = this.#deps;
    return sessionLock.run(sessionId, async () => {
      const session = await store.getSession(sessionId);
      if (!session) return false;
      // Deleted first: whatever happens to the kill, the client cannot resume this session.
      await store.deleteSession(sessionId);
      const killed = await this.#kill(session);
      this.#deps.log.info(
        "Session of {username} (subject {subject}, cid {cid}) ended, client killed: {killed}; {why}",
        {
          username: session.username,
          subject: session.subject,
          cid: session.cid ?? "-",
          why: REASON_TEXT[reason],
          killed,
        },
      );
      await this.#revoke(session);
      for (const listener of this.#listeners) listener({ session, reason, killed });
      return true;
    });
  }

  async #kill(session: Session): Promise<boolean> {
    if (session.cid === undefined) return false;
    const commander = this.#deps.commanders(session.server);
    if (!commander) {
      this.#deps.log.error("Cannot disconnect cid {cid}: unknown OpenVPN server {server}", {
        cid: session.cid,
        server: session.server,
      });
      return false;
    }
    try {
      await commander.kill(session.cid, KILL_MESSAGE);
      return true;
    } catch (error) {
      // Usually the client left a moment ago; its session is gone all the same.
      this.#deps.log.warning("client-kill of cid {cid} failed: {error}", {
        cid: session.cid,
        error: String(error),
      });
      return false;
    }
  }

  async #revoke(session: Session): Promise<void> {
    if (!session.refreshToken) return;
    await this.#deps.oidc.revoke(session.refreshToken).catch((error) =>
      this.#deps.log.warning("Could not revoke the refresh token of {username}: {error}", {
        username: session.username,
        error: String(error),
      })
    );
  }
}
