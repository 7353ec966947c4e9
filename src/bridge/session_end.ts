/**
 * The one place where a session is ended on purpose (back-channel logout, an admin's revoke, a
 * failed re-check, too many sessions of one user, a client without an OpenVPN token leaving, a
 * renegotiation whose token OpenVPN refused):
 * the session is deleted, its live client is killed on the OpenVPN server it belongs to (unless
 * the client has gone or is being denied anyway), its refresh token is revoked at the IdP, and
 * an audit line is written. A session the sweep removed past its end gets the last two
 * (endExpired).
 */
import type { Logger } from "@logtape/logtape";
import { audit, auditSubject, type SessionEndReason } from "../audit.ts";
import { words } from "../log.ts";
import type { OidcClient } from "../oidc/client.ts";
import type { RemovedSession, Session, SessionStore, SweptSession } from "../sessions/types.ts";
import { ManagementCommandError } from "../management/errors.ts";
import type { CommanderLookup } from "./commander.ts";
import type { KeyedLock } from "./keyed_lock.ts";
import { refreshTokenExpired } from "./refresh_expiry.ts";
import type { UnstoredRefreshTokens } from "./unstored_refresh_tokens.ts";
import { logDue, WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";

export type EndReason =
  | "backchannel-logout"
  | "admin-revoke"
  | "recheck-denied"
  | "max-per-user"
  | "replaced"
  | "disconnected"
  | "idp-session-expired"
  | "token-refused"
  | "expired";

const REASON_TEXT: Record<EndReason, string> = {
  "backchannel-logout": "the user logged out at the identity provider",
  "admin-revoke": "an administrator revoked it",
  "recheck-denied": "a re-check found the user no longer allowed",
  "max-per-user": "the user started a newer session beyond sessions.max_per_user",
  "replaced": "the same device (certificate name, server) signed in again",
  "disconnected": "its client left and cannot resume it without an OpenVPN token",
  "idp-session-expired": "its refresh token had expired at the identity provider",
  "token-refused":
    "OpenVPN refused its client's token at a renegotiation (expired or invalid) and never takes " +
    "that token again, so nobody can resume it",
  "expired": "it reached the end of sessions.lifetime",
};

const AUDIT_REASON: Record<EndReason, SessionEndReason> = {
  "backchannel-logout": "logout",
  "admin-revoke": "revoked",
  "recheck-denied": "recheck_failed",
  "max-per-user": "max_per_user",
  "replaced": "replaced",
  "disconnected": "disconnected",
  "idp-session-expired": "idp_session_expired",
  "token-refused": "token_refused",
  "expired": "expired",
};

/**
 * `client-kill` with RESTART: the client reconnects at once, finds no session and is sent to
 * the browser (a HALT would leave it stopped, and the user would have to connect again by hand).
 * No loop: the reconnect is a new client, asked to sign in, not killed again.
 */
export const KILL_MESSAGE = "RESTART";

/**
 * What a kill tells the user after `RESTART,` (killMessage), by why the session ended. A 2.6
 * client logs `Connection reset command was pushed by server ('<text>')`, tells its GUI
 * `>NOTIFY:info,server-pushed-connection-reset,<text>` and reconnects all the same (measured with
 * 2.6.14). Only where the browser sign-in that follows would not say it: a device displaced by
 * max_per_user (kill_oldest) was offered a new sign-in with no word of why, and signing in there
 * displaces the other device in turn. One replaced by a sign-in with its certificate (replaced)
 * is told the same: mostly a crashed instance nobody reads, else another device sharing that
 * certificate (`duplicate-cn`), which is what the text says. One an administrator revoked
 * (`sessions revoke`) is told so: the user did nothing, and the sign-in page that followed
 * looked like a fault of the VPN. The others are told by what the reconnect meets (a refusal
 * with its reason, or a sign-in after a logout at the IdP they did themselves). English here; the
 * link gives it in `http.default_language` (client_messages.ts). Never starting with `[`: the
 * client reads that as flags (push.c).
 */
const KILL_TEXT: Partial<Record<EndReason, string>> = {
  "max-per-user": "You signed in on another device",
  "replaced": "You signed in on another device",
  "admin-revoke": "An administrator ended your VPN session",
};

/** The `client-kill` message for a session ended for `reason`: KILL_MESSAGE, with KILL_TEXT. */
export function killMessage(reason: EndReason | undefined): string {
  const text = reason === undefined ? undefined : KILL_TEXT[reason];
  return text === undefined ? KILL_MESSAGE : `${KILL_MESSAGE},${text}`;
}

export interface SessionEndDeps {
  store: SessionStore;
  commanders: CommanderLookup;
  oidc: Pick<OidcClient, "revoke">;
  /** Shared with ClientEvents, so an ending never interleaves with a REAUTH or reconnect. */
  sessionLock: KeyedLock;
  log: Logger;
  /** For the failed revocations' warnings and the refresh tokens' expiry. */
  now: () => number;
  /**
   * `oidc.revoke_refresh_tokens` (default true). OidcClient.revoke does nothing when it is off;
   * known here, an ending does not look for sessions sharing the token's grant for nothing (a
   * sweep of 100,000 expired sessions, one look each).
   */
  revokeRefreshTokens?: boolean;
  /**
   * A kill that could not be sent (the link down, no answer): handed on to be sent, with its
   * `message`, when the server's link is back in `run` (ClientEvents.killWhenLinked). Not given
   * in a cluster.
   */
  killLater?: (server: string, cid: number, run: string | undefined, message: string) => void;
  /**
   * Told of each client an ending is about to kill (`client`: the session, where it is bound):
   * its link names that tunnel for the `client_left` line of the DISCONNECT the kill brings
   * (ClientEvents.sessionKilled), which finds the session gone. The link of a process that did
   * not admit the client (it restarted since) has no other name for it. Not given in a cluster.
   */
  killing?: (client: Session) => void;
  /**
   * Admission's (the same object): a session read from the store may hold a refresh token the
   * IdP has replaced by one only this process keeps; that one is revoked too, and forgotten
   * with the session. Without it the live token of a session ended by an admin, a logout,
   * max_per_user or a DISCONNECT stayed valid at the IdP. Left out only where no Admission
   * keeps tokens (tests of SessionEnd alone).
   */
  unstoredRefreshTokens?: UnstoredRefreshTokens;
}

export interface HeldEnding {
  /** Whether to `client-kill` the session's client (false: it has gone, or is denied anyway). */
  kill: boolean;
  /** The refresh token to revoke, when newer than the stored one (a re-check rotated it). */
  refreshToken?: string | undefined;
}

/** What became of a kill: none asked, done, nobody to kill, or not carried out. */
export type KillOutcome = "none" | "killed" | "gone" | "unsent";

/** What became of a session's connected client, as its end's log line says (#end). */
const CLIENT_FATE: Record<KillOutcome, string> = {
  none: "no disconnect sent for its client",
  killed: "its client disconnected",
  gone: "its client had left already",
  unsent: "its client could not be disconnected and may still be connected",
};

/** A client whose `client-kill` could not be carried out: it is still connected. */
export interface StillConnected {
  server: string;
  cid: number;
  username: string;
}

/** What ending sessions did: how many ended, and whose clients could not be disconnected. */
export interface EndReport {
  ended: number;
  stillConnected: StillConnected[];
}

/**
 * The refresh tokens of an ended session to revoke, each once: the one its entry held as it was
 * removed, and the caller's (`ending.refreshToken`, or the copy it read) when that differs.
 * Either can be the live one at an IdP that rotates refresh tokens: the entry's when another
 * refresh (another bridge instance sharing the store) stored a new token after the caller read
 * it, the caller's when its refresh got one the store never took (unstored_refresh_tokens.ts,
 * a re-check's rotation). Which, only the IdP knows; it answers the revocation of the dead one
 * as of any invalid token, with success (RFC 7009, 2.2). The caller's alone when the entry was
 * gone or held none, or still held the copy the caller read.
 */
export function tokensToRevoke(
  session: Session,
  ending: HeldEnding,
  removed: RemovedSession | undefined,
): [string | undefined, string | undefined] {
  const held = ending.refreshToken ?? session.refreshToken;
  const stored = removed?.refreshToken;
  if (stored === undefined || stored === session.refreshToken) return [held, undefined];
  return [stored, held === stored ? undefined : held];
}

export class SessionEnd {
  readonly #deps: SessionEndDeps;
  /**
   * Failed revocations are warned about once a minute, with how many failed since; the rest go
   * to debug. When OpenVPN stops with thousands of certificate-only clients and the IdP cannot
   * take their revocations in time (request_gate.ts drops them after a minute), one warning
   * each flooded the log.
   */
  readonly #revokeWarning: WarningInterval;
  readonly #now: () => number;

  constructor(deps: SessionEndDeps) {
    this.#deps = deps;
    this.#now = deps.now;
    this.#revokeWarning = new WarningInterval(WARNING_INTERVAL_MS, this.#now);
  }

  /**
   * Ends each of the sessions. Reports how many were still there to end, and whose clients are
   * still connected: their kill could not be sent or was not confirmed (the management link down
   * or not answering). A kill OpenVPN refused is not among them: the client had left.
   */
  async endAll(sessionIds: Iterable<string>, reason: EndReason): Promise<EndReport> {
    const report: EndReport = { ended: 0, stillConnected: [] };
    for (const id of new Set(sessionIds)) {
      await this.#deps.sessionLock.run(id, async () => {
        const session = await this.#deps.store.getSession(id);
        if (!session) return;
        report.ended++;
        const { kill, client } = await this.#endHeld(session, reason, { kill: true });
        if (kill === "unsent" && client.cid !== undefined) {
          report.stillConnected.push({
            server: client.server,
            cid: client.cid,
            username: session.username,
          });
        }
      });
    }
    return report;
  }

  /** Ends a session the caller has read under {@link SessionEndDeps.sessionLock} and still holds. */
  async endHeld(session: Session, reason: EndReason, ending: HeldEnding): Promise<KillOutcome> {
    return (await this.#endHeld(session, reason, ending)).kill;
  }

  /** As endHeld, with the client it was about: where the session was bound as it went. */
  async #endHeld(
    session: Session,
    reason: EndReason,
    ending: HeldEnding,
  ): Promise<{ kill: KillOutcome; client: Session }> {
    const unstored = this.#deps.unstoredRefreshTokens;
    // Deleted first: whatever happens to the kill, the client cannot resume this session.
    const removed = await this.#deps.store.deleteSession(session.sessionId);
    // Read before it is forgotten: the live token when the store holds the dead one it replaced
    // (apply() leaves a caller's copy with a newer token as it is).
    const live = unstored?.apply(session) ?? session;
    unstored?.forget(session.sessionId);
    // The lock is this process's: another bridge sharing the store (Redis) may have admitted a
    // reconnect on a new cid since the session was read here. That client holds the session
    // now, so it is the one disconnected, whether or not the caller meant to kill its own.
    const moved = removed !== undefined && removed.cid !== undefined &&
      (removed.cid !== session.cid || removed.server !== session.server);
    const client: Session = moved
      ? { ...session, server: removed.server, cid: removed.cid, openvpnRun: removed.openvpnRun }
      : session;
    const kill = ending.kill || moved ? await this.#kill(client, reason) : "none";
    const killed = kill === "killed";
    // Without a kill the caller has already told why (a denial, a DISCONNECT); the audit line
    // below is the record. No client is said in words, not with a placeholder cid.
    this.#deps.log[ending.kill ? "info" : "debug"](
      client.cid === undefined
        ? "Session of {username} (subject {subject}) ended with no client connected; {why}"
        : "Session of {username} (subject {subject}, cid {cid}) ended, {client}; {why}",
      {
        username: session.username,
        subject: session.subject,
        cid: client.cid,
        client: words(CLIENT_FATE[kill]),
        why: words(REASON_TEXT[reason]),
        killed,
      },
    );
    audit("session_ended", auditSubject(session, session), AUDIT_REASON[reason]);
    // An expired refresh token is dead at the IdP already: nothing to revoke.
    if (reason !== "idp-session-expired") {
      const [token, alsoToken] = tokensToRevoke(live, ending, removed);
      await this.#revokeUnshared(session.username, session.sid, token, alsoToken);
    }
    return { kill, client };
  }

  /**
   * Sessions the sweep removed past their end that held a refresh token (SessionStore.sweep,
   * called with each batch): each gets its audit line, and its token is revoked as an ended
   * session's (revokeToken: in the background, not while a live session shares its `sid`),
   * unless it has expired at the IdP already (`refreshExpiresAt`). A resumable client's session
   * ends this way after its client left, and a connected one's too: OpenVPN's `session-timeout`
   * disconnects the client as its session expires, and that DISCONNECT finds no session. Each
   * revocation first looks for a live session sharing its grant: for the whole batch at once in
   * a store that can only scan (SessionStore.liveSids: one scan of 100,000 sessions per
   * session held the event loop for seconds), else one session after the other, as a sweep of
   * 100,000 must not send 100,000 reads at once. A look that fails leaves those tokens alone.
   * Never rejects.
   */
  async endExpired(sessions: readonly SweptSession[]): Promise<void> {
    const unstored = this.#deps.unstoredRefreshTokens;
    const now = this.#now();
    const shared = await this.#liveSidsOf(sessions);
    for (const swept of sessions) {
      // The live token when the store held the dead one it replaced (unstored_refresh_tokens.ts).
      const session = unstored?.apply(swept) ?? swept;
      unstored?.forget(swept.sessionId);
      this.#deps.log.debug("Session of {username} (subject {subject}) ended; {why}", {
        username: swept.username,
        subject: swept.subject,
        why: words(REASON_TEXT.expired),
      });
      audit("session_ended", auditSubject(swept, swept), AUDIT_REASON.expired);
      if (refreshTokenExpired(session, now)) continue;
      if (shared === undefined) {
        await this.#revokeUnshared(session.username, session.sid, session.refreshToken, undefined);
      } else if (shared !== "unknown" && !(session.sid !== undefined && shared.has(session.sid))) {
        if (this.#deps.revokeRefreshTokens !== false) {
          this.#revoke(session.username, session.refreshToken);
        }
      }
    }
  }

  /**
   * The sids of `sessions` a live session still has, asked once (SessionStore.liveSids);
   * undefined when the store has no such look (each is then asked alone), "unknown" when it
   * failed (no token of the batch is revoked: as when one look fails).
   */
  async #liveSidsOf(
    sessions: readonly SweptSession[],
  ): Promise<ReadonlySet<string> | "unknown" | undefined> {
    const { store } = this.#deps;
    if (store.liveSids === undefined || this.#deps.revokeRefreshTokens === false) return undefined;
    const sids = new Set<string>();
    for (const { sid } of sessions) if (sid !== undefined) sids.add(sid);
    if (sids.size === 0) return sids;
    try {
      return await store.liveSids(sids);
    } catch (error) {
      this.#deps.log.debug(
        "Refresh tokens of {count} expired sessions not revoked: cannot tell whether other " +
          "sessions share their grants ({error})",
        { count: sessions.length, error: String(error) },
      );
      return "unknown";
    }
  }

  /**
   * Revokes, in the background, a refresh token no session holds any more (a session ended, a
   * sign-in refused, a token the IdP rotated for a session ended meanwhile); not while a live
   * session of the same IdP session (`sid`) remains. Keycloak keeps one client session per SSO
   * session and client, and revoking a refresh token ends that client session: the grant of the
   * user's other sign-in from the same browser (max_per_user's kill_oldest, deny_new, a second
   * VPN profile) would end with it, and that session at its next re-check. When the store cannot
   * say, the token is left to expire at the IdP. Resolves once that is decided.
   */
  revokeToken(
    username: string,
    refreshToken: string | undefined,
    sid: string | undefined,
  ): Promise<void> {
    return this.#revokeUnshared(username, sid, refreshToken, undefined);
  }

  /** revokeToken of one grant's tokens (tokensToRevoke): one look for a session sharing it. */
  async #revokeUnshared(
    username: string,
    sid: string | undefined,
    refreshToken: string | undefined,
    alsoToken: string | undefined,
  ): Promise<void> {
    if (!refreshToken || this.#deps.revokeRefreshTokens === false) return;
    if (sid !== undefined) {
      let sharing;
      try {
        sharing = await this.#deps.store.findSessionsBySid(sid);
      } catch (error) {
        this.#deps.log.debug(
          "Refresh token of {username} not revoked: cannot tell whether another session shares " +
            "its grant ({error})",
          { username, error: String(error) },
        );
        return;
      }
      if (sharing.length > 0) return;
    }
    this.#revoke(username, refreshToken);
    if (alsoToken) this.#revoke(username, alsoToken);
  }

  /**
   * `client-kill` of the session's client on its server, leaving the session as it is; false
   * when there was nothing to kill or the kill failed (logged here).
   */
  async disconnect(session: Session): Promise<boolean> {
    return await this.#kill(session) === "killed";
  }

  /**
   * `client-kill` of the session's client: "killed"; "gone" when there was no client or
   * OpenVPN refused (the client had left); "unsent" when it could not be sent or was not
   * confirmed (no link, no answer, an unknown server): the client may still be connected.
   */
  async #kill(session: Session, reason?: EndReason): Promise<Exclude<KillOutcome, "none">> {
    if (session.cid === undefined) return "gone";
    const commander = this.#deps.commanders(session.server);
    if (!commander) {
      this.#deps.log.error("Cannot disconnect cid {cid}: unknown OpenVPN server {server}", {
        cid: session.cid,
        server: session.server,
      });
      return "unsent";
    }
    const message = killMessage(reason);
    this.#deps.killing?.(session);
    try {
      await commander.kill(session.cid, message, session.openvpnRun);
      return "killed";
    } catch (error) {
      // Refused: usually the client left a moment ago; its session is gone all the same.
      this.#deps.log.warning("client-kill of cid {cid} failed: {error}", {
        cid: session.cid,
        error: String(error),
      });
      if (error instanceof ManagementCommandError) return "gone";
      this.#deps.killLater?.(session.server, session.cid, session.openvpnRun, message);
      return "unsent";
    }
  }

  #revokeFailed(username: string, error: unknown): void {
    logDue(
      this.#revokeWarning,
      this.#deps.log,
      "warning",
      "Could not revoke the refresh token of {username}: {error}",
      { username, error: String(error) },
    );
  }

  /**
   * Not awaited: the session is over whatever the IdP says, and a revocation may wait its turn
   * behind thousands (src/oidc/request_gate.ts) while the caller holds the session's lock and
   * has a client to deny or an admin to answer.
   */
  #revoke(username: string, refreshToken: string): void {
    // Promise.try: a revoke that throws at once is logged like one that rejects.
    void Promise.try(() => this.#deps.oidc.revoke(refreshToken)).catch((error) =>
      this.#revokeFailed(username, error)
    );
  }
}
