/**
 * The one admission step: verdict -> session -> lines -> command. The browser login, every
 * CONNECT that resumes a session, every REAUTH and the periodic re-check go through it, so all
 * of them apply the CURRENT policy to what the IdP says (or, without a refresh check, to the
 * claims kept from sign-in), and a session whose user is no longer admitted ends. Every
 * decision is counted and audited here.
 */
import { AnswersInRun } from "./answers_in_run.ts";
import { isKnownRun } from "../management/openvpn_run.ts";
import { audit, auditSubject } from "../audit.ts";
import { type AUDIT_REFUSALS, words } from "../log.ts";
import { requestWords } from "./client_request_words.ts";
import { loggedCertificateName } from "../logged_certificate.ts";
import { type DenialReason, noMetrics } from "../metrics/port.ts";
import { IdpRejectedError, IdpUnreachableError, OidcError } from "../oidc/errors.ts";
import type { PendingLogin, Session } from "../sessions/types.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import { StoreFullError } from "../sessions/store_full.ts";
import { type ClientCommander, notWritten, outcomeUnknown } from "./commander.ts";
import {
  type Denial,
  INTERNAL_ERROR,
  NO_REFRESH_TOKEN,
  REFRESH_TOKEN_EXPIRED,
  refreshCheckDenial,
  SESSION_ID_TAKEN,
  STORE_FULL,
  STORE_UNAVAILABLE,
  TOO_MANY_SESSIONS,
  UNKNOWN_SERVER,
  UNKNOWN_SESSION,
} from "./denial.ts";
import { type DenyContext, logDenial } from "./denial_log.ts";
import { refusalCommand, sendRefusal } from "./refusal.ts";
import { judgeClient } from "./judge_client.ts";
import { policyClaims, type Verdict } from "./identity_policy.ts";
import { KeyedLock } from "./keyed_lock.ts";
import type { EndReason } from "./session_end.ts";
import { excessSessions, replacedBy } from "./session_limit.ts";
import { withSessionTimeout } from "../policy/client_config.ts";
import { type FinishedLogin, sessionFromLogin } from "./login_session.ts";
import { IDP_SESSION_HINT, refreshTokenExpired, ShortRefreshTokens } from "./refresh_expiry.ts";
import { RefreshOutage } from "./refresh_outage.ts";
import type { UnstoredRefreshTokens } from "./unstored_refresh_tokens.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import type {
  AdmissionDeps,
  ClientSide,
  HeldSignInAnswer,
  LoginAdmission,
  Recheck,
  Resumption,
  SignInAnswerHolder,
} from "./admission_types.ts";

/**
 * A sign-in refused for one of these counts as `logins_total{result="error"}`: the IdP or the
 * bridge failed (its session store too: unreachable, or full at `sessions.max_entries`), and
 * says nothing about the user. Any other refusal is "denied".
 */
const FAILED_SIGN_IN: ReadonlySet<DenialReason> = new Set([
  "idp_error",
  "idp_unreachable",
  "internal_error",
  "store_unavailable",
]);

/** Writes of one session tried (Admission, #updateWith) while other instances keep writing it. */
const UPDATE_ATTEMPTS = 3;

/** Sign-ins without a refresh token to re-check with are warned about at most this often. */
const NO_REFRESH_TOKEN_WARNING_INTERVAL_MS = 10 * 60_000;

/** A sign-in admitted and its session stored, until its `client-auth` is written or given up. */
interface StoredSignIn {
  client: FinishedLogin["client"];
  session: Session;
  username: string;
  lines: readonly string[];
  /** The sessions `sessions.max_per_user` ends once this one is admitted (#endExcess). */
  excess: readonly Session[];
  giveBackGrant: () => Promise<void>;
}

export class Admission {
  readonly #deps: AdmissionDeps;
  /**
   * Serialises everything that reads and writes one session: events of one client overlap
   * (a late DISCONNECT after a reconnect), and two refreshes with one rotating refresh token
   * would make the IdP revoke the whole token family.
   */
  readonly sessionLock: KeyedLock;
  /**
   * One sign-in per user (IdP subject) at a time counts their sessions and stores the new one
   * (`sessions.max_per_user`): in this process here, across instances sharing a store by the
   * store's lock (SessionStore.exclusive).
   */
  readonly #userLock = new KeyedLock();
  /** Sign-ins whose refresh token would not outlast recheck_interval (refresh_expiry.ts). */
  readonly #shortRefreshTokens: ShortRefreshTokens;
  /** Sign-ins with no refresh token while sessions are re-checked at the IdP. */
  readonly #noRefreshTokenWarning: WarningInterval;
  readonly #storeFailureWarning: WarningInterval;
  /** The IdP outage the refresh checks (REAUTH, reconnect, periodic) meet, told once. */
  readonly #refreshOutage: RefreshOutage;
  /**
   * Rotated refresh tokens the store could not take, presented and written in its stead;
   * shared with SessionEnd (AdmissionDeps.unstoredRefreshTokens).
   */
  readonly #unstored: UnstoredRefreshTokens;
  /**
   * Each server's link, which holds the answers to finished sign-ins it could not write (down)
   * until it is back (ClientEvents registers itself: holdAnswersFor).
   */
  readonly #answerHolders = new Map<string, SignInAnswerHolder>();

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.sessionLock = deps.sessionLock;
    this.#shortRefreshTokens = new ShortRefreshTokens(deps.log, deps.now);
    this.#unstored = deps.unstoredRefreshTokens;
    this.#noRefreshTokenWarning = new WarningInterval(
      NO_REFRESH_TOKEN_WARNING_INTERVAL_MS,
      deps.now,
    );
    // Clients denied because the store failed: a REAUTH or reconnect storm at a store that is
    // down wrote a warning per client (each is at debug in between, and audited).
    this.#storeFailureWarning = new WarningInterval(WARNING_INTERVAL_MS, deps.now);
    this.#refreshOutage = new RefreshOutage(deps.log, deps.now);
  }

  /**
   * The service stops (nothing is admitted or re-checked any more): an IdP outage under way is
   * told as it stands, with how many sessions it kept from being re-checked.
   */
  stopped(): void {
    this.#refreshOutage.stopped();
  }

  /**
   * `holder` keeps the answers to `server`'s finished sign-ins that its link could not write,
   * until the link is back (HeldSignInAnswer); a newer holder replaces it. Returns the undo.
   */
  holdAnswersFor(server: string, holder: SignInAnswerHolder): () => void {
    this.#answerHolders.set(server, holder);
    return () => {
      if (this.#answerHolders.get(server) === holder) this.#answerHolders.delete(server);
    };
  }

  /**
   * A callback is about to take `login` from the store (SignInAnswerHolder.signInTaking, on the
   * link of its server here, if any); returns the undo, for a take that found nothing or failed.
   */
  signInTaking(login: Pick<PendingLogin, "server" | "cid" | "id">): () => void {
    return this.#answerHolders.get(login.server)?.signInTaking(login.cid, login.id) ?? (() => {});
  }

  /** A finished browser login: judge, store the session, send `client-auth` or the refusal. */
  async admitLogin(login: FinishedLogin, commander: ClientCommander): Promise<LoginAdmission> {
    const { store, log, now, config } = this.#deps;
    const { client, result } = login;
    const policy = config.policy(client.server);
    const verdict = this.#judge(result.claims, client, policy);
    const known = { username: verdict.identity?.username ?? "", subject: result.subject };
    // A sign-in whose session is not kept (refused, or its client gone) gives its grant back,
    // else it lives on at the IdP for every refused attempt (a Keycloak offline session idles
    // for 30 days); not while another session of its IdP session holds it (SessionEnd). Named
    // by its subject in a failed revocation's warning when the claims named no user.
    const giveBackGrant = () =>
      this.#deps.sessionEnd.revokeToken(
        known.username || result.subject,
        result.refreshToken,
        result.sid,
      );
    const deny = async (denial: Denial): Promise<LoginAdmission> => {
      // The page still tells the user why when the client has already gone.
      await this.denySignIn(commander, client, denial, { who: known });
      await giveBackGrant();
      return { kind: "denied", denial };
    };
    if (!verdict.allow) return await deny(verdict.denial);
    const { identity, lines } = verdict;
    const session = sessionFromLogin(login, identity, policyClaims(result.claims, policy!), {
      now: now(),
      lifetimeMs: config.sessionLifetimeMs,
    });
    const limit = this.#deps.sessionLimit;
    // Stored before client-auth, so a REAUTH that races the answer finds it. With a limit, one
    // sign-in of a user at a time counts and stores, on every instance sharing the store: two
    // callbacks at once each found the other's session not yet stored, and both got in past
    // max_per_user (deny_new too).
    const countAndStore = async (): Promise<{ denial: Denial } | { end: Session[] }> => {
      const outcome = await excessSessions(store, limit, session);
      if (outcome.refused) return { denial: TOO_MANY_SESSIONS };
      // The look and the write under the id's lock: the id's own user's sign-in, stored between
      // them, would be replaced all the same.
      const taken = await this.sessionLock.run(session.sessionId, async () => {
        if (await this.#takesOverAnother(login, session)) return true;
        await store.putSession(session);
        return false;
      });
      return taken ? { denial: SESSION_ID_TAKEN } : { end: outcome.end };
    };
    let counted;
    try {
      counted = limit
        ? await this.#userLock.run(
          session.subject,
          () => store.exclusive(`max_per_user\0${session.subject}`, countAndStore),
        )
        : await countAndStore();
    } catch (error) {
      // Not stored, so not admitted. The sign-in was taken already: nothing else would ever
      // answer this client, so it is denied here, whatever failed (a full store too).
      const denial = error instanceof StoreUnavailableError
        ? STORE_UNAVAILABLE
        : error instanceof StoreFullError
        ? STORE_FULL
        : INTERNAL_ERROR;
      log[denial === INTERNAL_ERROR ? "error" : "warning"](
        "Login of {username} (cid {cid}) not stored: {error}",
        { username: identity.username, cid: client.cid, error: String(error) },
      );
      return await deny(denial);
    }
    if ("denial" in counted) {
      if (counted.denial === SESSION_ID_TAKEN) {
        log.warning(
          "Login of {username} (cid {cid}, certificate {commonName}, from {clientIp}) refused: " +
            "its client presented a token OpenVPN refused, naming the session_id of another " +
            "user's session, which is kept. OpenVPN before 2.6.21 and 2.7.5 passes on such a " +
            "client-chosen id (CVE-2026-13122): update OpenVPN",
          {
            username: identity.username,
            cid: client.cid,
            commonName: loggedCertificateName(client.commonName),
            clientIp: client.clientIp,
          },
        );
      }
      return await deny(counted.denial);
    }
    return await this.#sendAuth({
      client,
      session,
      username: identity.username,
      lines,
      excess: counted.end,
      giveBackGrant,
    }, commander);
  }

  /**
   * Whether storing `session` would replace another user's session. Only a sign-in whose client
   * chose its session_id (sessionIdUnverified) can meet one: OpenVPN's own ids are random and
   * new, or the client's own (an expired token it issued). Sign-ins are rare: one store read.
   */
  async #takesOverAnother(login: FinishedLogin, session: Session): Promise<boolean> {
    if (login.client.sessionIdUnverified !== true) return false;
    const existing = await this.#deps.store.getSession(session.sessionId);
    return existing !== undefined && existing.subject !== session.subject;
  }

  /**
   * `client-auth` for a sign-in whose session is stored; logged, counted and audited once
   * written. One the link did not write (down) is held for the link, which runs this again
   * (`held`) when it is back in the sign-in's run; the browser is told the VPN server has not
   * confirmed yet.
   */
  async #sendAuth(
    stored: StoredSignIn,
    commander: ClientCommander,
    held = false,
  ): Promise<LoginAdmission> {
    const { log, now, config } = this.#deps;
    const { client, session, username, lines, excess } = stored;
    // Computed at each write: a held answer goes out later, with less of the lifetime left.
    const write = () =>
      commander.auth(
        client.cid,
        client.kid,
        withSessionTimeout(lines, session.expiresAt - now()),
        client.signIn,
      ).then(
        () => undefined,
        (error: unknown) => ({ error }),
      );
    // Held, the session may have ended meanwhile (a logout, an admin's revoke): the client is
    // not let in then. Checked and written under its lock, so that an ending that comes later
    // finds the client admitted, and kills it.
    const failed = held
      ? await this.sessionLock.run(session.sessionId, async () => {
        const current = await this.#deps.store.getSession(session.sessionId);
        return sameSignIn(current, session) ? await write() : "ended" as const;
      })
      : await write();
    if (failed === "ended") {
      log.info(
        "client-auth for {username} (cid {cid}) not sent: its session ended while it was held",
        { username, cid: client.cid },
      );
      await stored.giveBackGrant();
      // The client still waits for an answer.
      await this.denySignIn(commander, client, UNKNOWN_SESSION, { who: session });
      return { kind: "client-gone" };
    }
    if (failed !== undefined) {
      const { error } = failed;
      const holding = notWritten(error) && this.#holdForLink(client, {
        command: "client-auth",
        send: () => this.#sendAuth(stored, commander, true),
        drop: (why, ending) => this.#dropAuth(stored, why, ending),
      });
      if (holding) {
        // Counted and audited once written, or counted when dropped: the session waits for it.
        log.info(
          "client-auth for {username} (cid {cid}) not written, to be sent once the management " +
            "link is back in the sign-in's OpenVPN run: {error}",
          { username, cid: client.cid, error: String(error) },
        );
        return { kind: "no-answer" };
      }
      this.#metrics(client.server).login("error");
      if (outcomeUnknown(error)) {
        // OpenVPN may still admit the client: its session must be there to be re-checked,
        // revoked and ended at DISCONNECT (or by the client list at the next link-up).
        log.warning(
          "client-auth for {username} (cid {cid}) not confirmed; the session is kept, OpenVPN may still take it: {error}",
          { username, cid: client.cid, error: String(error) },
        );
        // Counted as admitted for the limit: if OpenVPN takes it, the user is not over it.
        await this.#endExcess(username, session, excess);
        return { kind: "no-answer" };
      }
      log.warning("client-auth for {username} (cid {cid}) failed: {error}", {
        username,
        cid: client.cid,
        error: String(error),
      });
      await this.#unstore(stored);
      return { kind: "client-gone" };
    }
    this.#metrics(client.server).login("admitted");
    this.#admitted(client, session, client.signIn?.openvpnRun);
    log.info("Login of {username} (cid {cid}, certificate {commonName}) accepted", {
      username,
      cid: client.cid,
      commonName: loggedCertificateName(client.commonName),
    });
    await this.#endExcess(username, session, excess);
    this.#shortRefreshTokens.check(username, session.refreshExpiresAt, {
      now: now(),
      recheckIntervalMs: config.recheckIntervalMs,
    });
    if (session.refreshToken === undefined) this.#noRefreshTokenToRecheck(username);
    return { kind: "admitted", username };
  }

  /**
   * A held client-auth that will never be written: its session ends with it, and the sign-in is
   * counted as failed (HeldSignInAnswer.drop).
   */
  async #dropAuth(
    stored: StoredSignIn,
    why: string,
    ending?: { timedOut: true },
  ): Promise<void> {
    const { log } = this.#deps;
    const { username, client } = stored;
    log.info("client-auth for {username} (cid {cid}) not sent: {why}; its session ends", {
      username,
      cid: client.cid,
      why: words(why),
    });
    if (ending?.timedOut !== true) this.#metrics(client.server).login("error");
    await this.#unstore(stored).catch((error) =>
      log.warning("Could not end the session of {username} (cid {cid}): {error}", {
        username,
        cid: client.cid,
        error: String(error),
      })
    );
  }

  /**
   * A stored sign-in whose client-auth OpenVPN did not take, or never will get: no session may
   * be left without its client. Its session is deleted, unless another sign-in has stored one
   * under the same id since (the client came back with the same OpenVPN session id), and its
   * grant given back.
   */
  async #unstore({ session, giveBackGrant }: StoredSignIn): Promise<void> {
    const { store } = this.#deps;
    await this.sessionLock.run(session.sessionId, async () => {
      if (sameSignIn(await store.getSession(session.sessionId), session)) {
        await store.deleteSession(session.sessionId);
      }
    });
    await giveBackGrant();
  }

  /**
   * Hands an answer the link did not write to the link of the sign-in's server, to be written
   * when it is back (SignInAnswerHolder); false when it cannot hold it.
   */
  #holdForLink(
    client: ClientSide,
    answer: Pick<HeldSignInAnswer, "command" | "send" | "drop">,
  ): boolean {
    const holder = this.#answerHolders.get(client.server);
    if (holder === undefined || client.signIn === undefined) return false;
    return holder.holdSignInAnswer({ ...answer, cid: client.cid, signIn: client.signIn });
  }

  /**
   * A sign-in admitted without a refresh token (Okta, Entra ID, Authentik issue one only for
   * `offline_access`, Google only for `access_type=offline`, and only when the user is shown
   * its consent screen, hence `prompt=consent`) where sessions are re-checked at
   * the IdP: its first re-check cannot be made, and ends the session (NO_REFRESH_TOKEN). A
   * setting, so said once in a while, not at every sign-in.
   */
  #noRefreshTokenToRecheck(username: string): void {
    const { config, log } = this.#deps;
    const rechecks = [
      ...(config.reauthCheck === "refresh" ? ['reauth_check = "refresh"'] : []),
      ...(config.recheckIntervalMs === undefined ? [] : ["recheck_interval"]),
    ];
    if (rechecks.length === 0) return;
    const more = this.#noRefreshTokenWarning.due();
    if (more === undefined) return;
    log.warning(
      "The identity provider gave {username} no refresh token, but sessions are re-checked " +
        "there ({rechecks}): such sessions end at their first re-check (a renegotiation, a " +
        "reconnect or the periodic one) and their clients are refused or disconnected. Add " +
        "offline_access to oidc.scopes (Okta, Entra ID, Authentik issue a refresh token only " +
        'then; Google: oidc.authorize_params access_type = "offline" and prompt = "consent", ' +
        "as it issues one only when it shows its consent screen) ({more} more such " +
        "sign-ins since the last warning)",
      { username, rechecks: rechecks.join(", "), more },
    );
  }

  /**
   * `sessions.max_per_user`: ends the sessions a new one put over the limit (kill_oldest), or
   * those whose client left (deny_new), and those of the same device it replaces
   * (session_limit.ts).
   */
  async #endExcess(
    username: string,
    session: Session,
    excess: readonly Session[],
  ): Promise<void> {
    const limit = this.#deps.sessionLimit;
    if (excess.length === 0 || !limit) return;
    const replaced: string[] = [];
    const over: string[] = [];
    for (const old of excess) (replacedBy(session, old) ? replaced : over).push(old.sessionId);
    if (replaced.length > 0) {
      this.#deps.log.info(
        "{username} signed in again with certificate {commonName} on {server}: ending the " +
          "{count} earlier session(s) of that certificate there",
        {
          username,
          commonName: session.commonName,
          server: session.server,
          count: replaced.length,
        },
      );
      await limit.end(replaced, "replaced");
    }
    if (over.length > 0) {
      this.#deps.log.info(
        "{username} is over sessions.max_per_user ({max}): ending {count} oldest session(s)",
        { username, max: limit.maxPerUser, count: over.length },
      );
      await limit.end(over, "max-per-user");
    }
  }

  /**
   * A CONNECT with the token of a stored session, or a REAUTH: the current policy again (after
   * a refresh at the IdP when `refresh`), then `client-auth`/`client-auth-nt` or `client-deny`.
   * `resumable`: whether the client can come back with a token to this session. Where
   * sessions are re-checked at the IdP, one whose refresh token has expired there is ended
   * instead: "ended", and a CONNECT is then a new client's (a REAUTH is denied here). Call under
   * {@link sessionLock}.
   */
  async resume(
    client: ClientSide & { kind: "connect" | "reauth" },
    stored: Session,
    commander: ClientCommander,
    { resumable, refresh, sameRun, run }: {
      resumable: boolean;
      refresh: boolean;
      /** Whether OpenVPN still runs as when the event came (its cid and kid name the client). */
      sameRun?: () => boolean;
      /**
       * The run of OpenVPN the event came in, as the link told it. When OpenVPN told it
       * (isKnownRun), the cid the session is bound to belongs to it (Session.openvpnRun);
       * otherwise none is recorded.
       */
      run?: string | undefined;
    },
  ): Promise<Resumption> {
    const { log, now, config } = this.#deps;
    // The link's own string: no copy per session.
    const openvpnRun = isKnownRun(run) ? run : undefined;
    stored = this.#unstored.apply(stored);
    // Its next re-check at the IdP would fail (invalid_grant) and end it, the tunnel dropping
    // mid-work: better ended now, at a (re)connect, than resumed on the stored claims.
    const rechecked = refresh || config.recheckIntervalMs !== undefined;
    if (rechecked && refreshTokenExpired(stored, now())) {
      return await this.#refreshTokenExpired(client, stored, commander);
    }
    // A reconnect may come through another server sharing the token secret: the session
    // moves there, so that server's DISCONNECT and REAUTH find it. It may come from a new
    // address too (another network, a floated client): later audit lines and `sessions list`
    // name where the client is now. An event without one keeps the address recorded.
    const rebind: Partial<
      Pick<Session, "server" | "cid" | "resumable" | "openvpnRun" | "clientIp">
    > = { server: client.server, cid: client.cid, resumable, openvpnRun };
    // Set after the literal, not spread into it: no object of garbage per REAUTH.
    if (client.clientIp !== "") rebind.clientIp = client.clientIp;
    const checked = refresh
      ? await this.#recheckResumed(stored, client, rebind)
      : await this.#rejudge(stored, client, false);
    if (sameRun !== undefined && !sameRun()) {
      await this.#restartedMeanwhile(client, checked.admit ? checked.session : undefined);
      return "answered";
    }
    if (!checked.admit) {
      // Judged on what the session stored when the IdP could not be asked and "allow" said so:
      // no refresh check refused it then, the policy did.
      const byRefreshCheck = refresh && checked.idpUnreachable !== "allow";
      await this.deny(commander, client, checked.denial, { who: stored, byRefreshCheck });
      return "answered";
    }
    let session = checked.session;
    // A plain renegotiation (same cid, nothing re-checked, nothing learned) is not written
    // back: with the file store that durable write (one fsync) was most of a REAUTH's cost,
    // and every client renegotiates hourly. lastAuthAt then records the last login, reconnect
    // or re-check rather than the last renegotiation. A run recorded with the cid must be this
    // event's (else written, with this run or none); a session stored without one (by an older
    // version) is not written for it: its binding keeps being judged by the cid alone until a
    // reconnect or a re-check writes it. A client that floated to another address is written;
    // a session stored without one is not, for the same reason.
    const plainRenegotiation = client.kind === "reauth" && session.server === client.server &&
      session.cid === client.cid && session.resumable === resumable &&
      (session.openvpnRun === undefined || session.openvpnRun === openvpnRun) &&
      (rebind.clientIp === undefined || session.clientIp === undefined ||
        session.clientIp === rebind.clientIp);
    // A refreshed session (rebound too) was stored by #recheck already.
    if (!checked.refreshed && !plainRenegotiation) {
      let written;
      try {
        written = await this.#updateWith(session, (current) => ({
          ...current,
          ...rebind,
          lastAuthAt: now(),
        }));
      } catch (error) {
        // Denied here rather than by the link's catch-all, so that the audit line names the
        // session's user (the store was read: only the write failed).
        if (!(error instanceof StoreUnavailableError)) throw error;
        await this.deny(commander, client, STORE_UNAVAILABLE, {
          presented: stored,
          storeError: error,
        });
        return "answered";
      }
      // Ended meanwhile by another bridge instance (revoked, logged out): not brought back.
      if (written === undefined) {
        await this.deny(commander, client, UNKNOWN_SESSION, {
          who: stored,
          byRefreshCheck: refresh,
        });
        return "answered";
      }
      session = written;
      // The write may take a while too.
      if (sameRun !== undefined && !sameRun()) {
        await this.#restartedMeanwhile(client, session);
        return "answered";
      }
    }
    // Bound to this client now, whatever becomes of the answer: the old cid's tunnel was the
    // user's all the same.
    this.#movedOff(client, stored, openvpnRun, run);
    // Every client renegotiates hourly: the routine REAUTH is logged at debug level, and its
    // line's properties are only built when debug is on (an object per REAUTH for a line the
    // filter drops was part of the B1 REAUTH storm's cost). One admitted on its stored session
    // because the IdP could not be asked is not routine: it is that client's one line of the
    // outage (refresh_outage.ts tells the outage itself once).
    const routine = client.kind === "reauth" && !checked.refreshed &&
      checked.idpUnreachable === undefined;
    if (!routine || log.isEnabledFor("debug")) {
      const accepted = {
        kind: client.kind,
        request: requestWords(client.kind, true),
        username: session.username,
        cid: client.cid,
        from: stored.server,
      };
      if (checked.refreshed) {
        log.info(
          "{request} of {username} (cid {cid}) accepted after a refresh at the identity provider",
          accepted,
        );
      } else if (checked.idpUnreachable !== undefined) {
        log.info(
          "{request} of {username} (cid {cid}) accepted on its stored session: the identity " +
            "provider could not be asked (idp_unreachable = allow)",
          accepted,
        );
      } else {
        const message = stored.server === client.server
          ? "{request} of {username} (cid {cid}) accepted from the session, no browser needed"
          : "{request} of {username} (cid {cid}) accepted from the session of server {from}, no browser needed";
        if (routine) log.debug(message, accepted);
        else log.info(message, accepted);
      }
    }
    const metrics = this.#metrics(client.server);
    if (client.kind === "reauth") {
      await commander.authNt(client.cid, client.kid);
      metrics.clientEvent(client.kind, "auth_nt");
      return "answered";
    }
    // A reconnect is a new client instance: it needs its config lines again.
    try {
      await commander.auth(
        client.cid,
        client.kid,
        withSessionTimeout(checked.lines, checked.session.expiresAt - this.#deps.now()),
      );
    } catch (error) {
      // Refused: the client left while it was resumed, and its DISCONNECT, coming before the
      // session was bound to its cid, found nothing to unbind. No other DISCONNECT will come
      // for that cid, so the binding just written is undone here. (Not confirmed: OpenVPN may
      // still admit it, and the binding stays for its DISCONNECT.)
      if (!outcomeUnknown(error)) await this.#unbindLeft(session, client);
      throw error;
    }
    metrics.clientEvent(client.kind, "auth");
    this.#admitted(client, session, run);
    return "answered";
  }

  /**
   * Audits a client let in with `session`, and tells its server's link who it let in, in
   * OpenVPN's run `run` (the one the answer was written in): its tunnel's audit lines name them
   * with no store read (ClientEvents.clientAdmitted).
   */
  #admitted(client: ClientSide, session: Session, run: string | undefined): void {
    const subject = auditSubject(client, session);
    audit("admitted", subject);
    this.#answerHolders.get(client.server)?.clientAdmitted(client.cid, run, subject);
  }

  /**
   * `stored`, now bound to `client` (stored so), was bound to another cid of the same server in
   * the same run of OpenVPN (`openvpnRun`, as resume derives it from `run`): that cid's tunnel was
   * its user's, and its DISCONNECT, coming after the move, finds no session bound to it. A
   * process that did not admit that client (it restarted since) has no name for the tunnel
   * either: told here, with nothing read, so that its `client_left` line names the user
   * (ClientEvents.sessionMovedOff). A binding of another run was a client that went with it.
   */
  #movedOff(
    client: ClientSide,
    stored: Session,
    openvpnRun: string | undefined,
    run: string | undefined,
  ): void {
    if (stored.server !== client.server || stored.cid === undefined) return;
    if (stored.cid === client.cid || stored.openvpnRun === undefined) return;
    if (stored.openvpnRun !== openvpnRun) return;
    const who = auditSubject(stored, stored);
    this.#answerHolders.get(client.server)?.sessionMovedOff(stored.cid, run, who);
  }

  /** Unbinds a session from a client that has gone, if it is still bound to that client. */
  async #unbindLeft(session: Session, client: ClientSide): Promise<void> {
    try {
      await this.#updateWith(
        session,
        (current) =>
          current.server === client.server && current.cid === client.cid
            ? { ...current, cid: undefined, openvpnRun: undefined }
            : current,
      );
    } catch (error) {
      this.#deps.log.warning("Could not unbind the session of {username} from cid {cid}: {error}", {
        username: session.username,
        cid: client.cid,
        error: String(error),
      });
    }
  }

  /**
   * A session whose refresh token has expired at the IdP (Keycloak: SSO Session Idle or Max),
   * where sessions are re-checked there: it cannot be resumed, so it ends, as after a failed
   * re-check but with nothing to revoke. A REAUTH is denied (never answered with a pending
   * login: decide.ts); a CONNECT is left to be answered as a new client's ("ended").
   */
  async #refreshTokenExpired(
    client: ClientSide & { kind: "connect" | "reauth" },
    session: Session,
    commander: ClientCommander,
  ): Promise<Resumption> {
    await this.#deps.sessionEnd.endHeld(session, "idp-session-expired", { kill: false });
    if (client.kind === "reauth") {
      // The denial's line says why (REFRESH_TOKEN_EXPIRED's hint).
      await this.deny(commander, client, REFRESH_TOKEN_EXPIRED, { who: session });
      return "answered";
    }
    this.#deps.log.info(
      "CONNECT of {username} (cid {cid}) not resumed: the refresh token expired at the " +
        "identity provider at {expiredAt}; session ended, the client signs in again ({hint})",
      {
        username: session.username,
        cid: client.cid,
        expiredAt: new Date(session.refreshExpiresAt!).toISOString(),
        hint: words(IDP_SESSION_HINT),
      },
    );
    return "ended";
  }

  /**
   * OpenVPN restarted while a CONNECT or REAUTH was being judged: no answer is sent (its cid and
   * kid now name another client, or nobody). `session`, when stored bound to that cid, is
   * unbound, so that nothing meant for it (a kill, the new client's DISCONNECT) reaches the
   * client that has the cid now.
   */
  async #restartedMeanwhile(client: ClientSide, session: Session | undefined): Promise<void> {
    this.#deps.log.warning(
      "{request} on cid {cid}: OpenVPN restarted while it was judged; no answer sent (that cid " +
        "and kid now name another client)",
      { kind: client.kind, request: requestWords(client.kind, true), cid: client.cid },
    );
    if (session !== undefined && session.server === client.server && session.cid === client.cid) {
      await this.#deps.store.updateSession({ ...session, cid: undefined, openvpnRun: undefined });
    }
  }

  /**
   * Re-checks a stored session at the IdP with the current policy, without a management
   * event (the periodic re-check). Undefined when the session is no longer bound to a client
   * on `server` (ended meanwhile too). Admitted: the session is stored with the rotated refresh
   * token and fresh claims. Denied because the grant is gone or the policy refuses the user: the
   * session has ended (deleted, its client killed, the newest refresh token revoked). Denied
   * because the IdP could not be asked: the session is kept and its client killed;
   * `idp_unreachable` decides as at REAUTH. A denial is counted and audited (`recheck_denied`)
   * by the code a REAUTH's would be.
   */
  recheckSession(sessionId: string, server: string): Promise<Recheck | undefined> {
    return this.sessionLock.run(sessionId, async () => {
      const session = this.#unstored.apply(await this.#deps.store.getSession(sessionId));
      // Listed at the start of a round: since then the client may have left, or moved to a
      // server whose re-checks another cluster instance runs.
      if (
        !session || session.server !== server || session.cid === undefined ||
        session.expiresAt <= this.#deps.now()
      ) return undefined;
      const client: ClientSide = {
        kind: "reauth",
        server: session.server,
        cid: session.cid ?? -1,
        kid: 0,
        commonName: session.commonName,
        clientIp: session.clientIp ?? "",
        username: undefined,
      };
      const checked = await this.#recheck(session, client, { rebind: {}, disconnect: true });
      if ("rotatedElsewhere" in checked) {
        // Just re-checked there: this round has nothing to add.
        this.#deps.log.info(
          "Re-check of {username} (cid {cid}) skipped this round: another bridge instance " +
            "refreshed the session at the same time",
          { username: session.username, cid: session.cid ?? "-" },
        );
        return undefined;
      }
      if (checked.admit) return checked;
      // Ended by another bridge instance while the IdP answered: that ending killed the client
      // and recorded it; this check refused nobody.
      if (checked.denial === UNKNOWN_SESSION) return undefined;
      // No client asked, so no client event is counted; the refusal is, under the code a REAUTH
      // refused on the same answer carries (#recheck decides both).
      this.#countAndAudit("recheck_denied", client, checked.denial, session);
      return checked;
    });
  }

  /**
   * Refuses a CONNECT or REAUTH (`client-deny`, or HALT for a CONNECT the decision table
   * refused: refusal.ts), logs why (denial_log.ts: naming the IdP identity when it is known, the
   * certificate when the decision table refused the request), counts and audits it.
   */
  async deny(
    commander: ClientCommander,
    client: ClientSide,
    denial: Denial,
    context: DenyContext = {},
  ): Promise<void> {
    // Not logged, counted or audited as a denial when it will not be sent.
    if (commander instanceof AnswersInRun) commander.checkRun();
    this.#recordDenial(client, denial, context);
    // Nobody has signed in on a client that is refused at its CONNECT by the decision table.
    const newClient = client.kind === "login" ||
      (client.kind === "connect" && "presented" in context);
    await sendRefusal(commander, client, denial, newClient);
  }

  /**
   * The refusal of a finished browser sign-in (refused, or the IdP failed): `client-deny`, or
   * HALT for a refusal a retry cannot change (refusal.ts). Recorded once written: one the link
   * did not write (down) is held for it and logged, counted and audited when it is written, in
   * the sign-in's run, or when it is dropped (HeldSignInAnswer.drop). Never rejects: the page
   * tells the user why, whatever became of it.
   */
  async denySignIn(
    commander: ClientCommander,
    client: ClientSide,
    denial: Denial,
    context: DenyContext = {},
  ): Promise<void> {
    const { log } = this.#deps;
    const command = refusalCommand(denial, true);
    const send = async (): Promise<void> => {
      try {
        await sendRefusal(commander, client, denial, true);
      } catch (error) {
        const held = notWritten(error) && this.#holdForLink(client, {
          command,
          send,
          drop: (why, ending) => {
            log.info("{command} for cid {cid} ({denialCode}) not sent: {why}", {
              command,
              cid: client.cid,
              denialCode: denial.code,
              why: words(why),
            });
            // The user was refused all the same (HeldSignInAnswer.drop).
            if (ending?.timedOut !== true) this.#recordDenial(client, denial, context);
            return Promise.resolve();
          },
        });
        if (held) {
          log.info(
            "{command} for cid {cid} ({denialCode}) not written, to be sent once the " +
              "management link is back in the sign-in's OpenVPN run: {error}",
            { command, cid: client.cid, denialCode: denial.code, error: String(error) },
          );
          return;
        }
        // Refused, or written with no answer: recorded as any denial that was sent.
        this.#recordDenial(client, denial, context);
        throw error;
      }
      this.#recordDenial(client, denial, context);
    };
    await send().catch(() => {});
  }

  /** Logs why (denial_log.ts), counts and audits a denial. */
  #recordDenial(client: ClientSide, denial: Denial, context: DenyContext): void {
    logDenial(this.#deps.log, client, denial, context, this.#storeFailureWarning);
    const metrics = this.#metrics(client.server);
    if (client.kind === "login") {
      metrics.login(FAILED_SIGN_IN.has(denial.code) ? "error" : "denied");
    } else {
      metrics.clientEvent(client.kind, "deny");
    }
    this.#countAndAudit(
      client.kind === "reauth" ? "reauth_denied" : "denied",
      client,
      denial,
      "presented" in context ? context.presented : context.who,
    );
  }

  /** `denials_total` and the audit line of a refusal, by its code. */
  #countAndAudit(
    event: typeof AUDIT_REFUSALS[number],
    client: ClientSide,
    denial: Denial,
    who: { username: string; subject: string } | undefined,
  ): void {
    this.#metrics(client.server).denial(denial.code);
    audit(event, auditSubject(client, who), denial.code);
  }

  /**
   * Ends a session whose lock the caller holds, without a kill (its client has gone, or is
   * being denied).
   */
  async endSession(session: Session, reason: EndReason): Promise<void> {
    await this.#deps.sessionEnd.endHeld(session, reason, { kill: false });
  }

  #metrics(server: string) {
    return (this.#deps.metrics ?? noMetrics).server(server);
  }

  #judge(
    claims: Record<string, unknown>,
    client: ClientSide,
    policy = this.#deps.config.policy(client.server),
  ): Verdict {
    if (policy === undefined) return { allow: false, denial: UNKNOWN_SERVER };
    const usernamePolicy = this.#deps.config.usernamePolicy(client.server);
    return judgeClient(claims, client, { policy, usernamePolicy }, this.#deps.log);
  }

  /**
   * The current policy over the claims kept from sign-in (no refresh check configured). A
   * denial by the policy of the session's own server ends the session; one by another server
   * a client reconnects through (shared token secret) only refuses it there.
   */
  async #rejudge(session: Session, client: ClientSide, disconnect: boolean): Promise<Recheck> {
    const verdict = this.#judge(session.claims, client);
    if (!verdict.allow) {
      if (session.server === client.server) {
        await this.#deps.sessionEnd.endHeld(session, "recheck-denied", { kill: disconnect });
      }
      return { admit: false, denial: verdict.denial, session };
    }
    return { admit: true, session, lines: verdict.lines, refreshed: false };
  }

  /**
   * The refresh check of a CONNECT or REAUTH. Refused because another bridge instance rotated
   * the token meanwhile: asked once more with the token it stored, so that the user is judged
   * on what the IdP answers that refresh (never admitted on a refusal).
   */
  async #recheckResumed(
    session: Session,
    client: ClientSide,
    rebind: Partial<Pick<Session, "server" | "cid" | "resumable" | "openvpnRun" | "clientIp">>,
  ): Promise<Recheck> {
    const checked = await this.#recheck(session, client, { rebind, disconnect: false });
    if (!("rotatedElsewhere" in checked)) return checked;
    this.#deps.log.info(
      "Refresh for {username} refused: another bridge instance had just rotated the refresh " +
        "token; asking again with the one it stored",
      { username: session.username },
    );
    const again = await this.#recheck(checked.rotatedElsewhere, client, {
      rebind,
      disconnect: false,
      retried: true,
    });
    // Not when retried (#recheck); fail closed all the same.
    if ("rotatedElsewhere" in again) throw new Error("Refresh token rotated twice meanwhile");
    return again;
  }

  /**
   * The session as stored now when a refresh the IdP refused was of a token another bridge
   * instance sharing the store (the lock is this process's) had just used and replaced: same
   * sign-in, another token. An IdP that rotates refresh tokens refuses a reused one
   * (invalid_grant), and that refusal says nothing about the grant, which lives on with the
   * token stored.
   */
  async #rotatedMeanwhile(read: Session, presented: string): Promise<Session | undefined> {
    const current = this.#unstored.apply(await this.#deps.store.getSession(read.sessionId));
    const rotated = current !== undefined && current.createdAt === read.createdAt &&
      current.refreshToken !== undefined && current.refreshToken !== presented;
    return rotated ? current : undefined;
  }

  /**
   * sessions.reauth_check = "refresh" or the periodic re-check: ask the IdP whether the user
   * may still connect. `disconnect`: no client is asking (the periodic re-check), so a denied
   * one is killed rather than answered. `rotatedElsewhere`: the IdP refused a token another
   * bridge instance had just rotated (#rotatedMeanwhile), and nothing was ended; never when
   * `retried`.
   */
  async #recheck(
    session: Session,
    client: ClientSide,
    { rebind, disconnect, retried = false }: {
      rebind: Partial<Pick<Session, "server" | "cid" | "resumable" | "openvpnRun" | "clientIp">>;
      disconnect: boolean;
      retried?: boolean;
    },
  ): Promise<Recheck | { rotatedElsewhere: Session }> {
    const { oidc, config, log, now, sessionEnd } = this.#deps;
    if (!session.refreshToken) {
      await sessionEnd.endHeld(session, "recheck-denied", { kill: disconnect });
      return { admit: false, denial: NO_REFRESH_TOKEN, session };
    }
    const presented = session.refreshToken;
    let result;
    try {
      result = await oidc.refresh(presented, session.subject);
    } catch (error) {
      if (!(error instanceof OidcError)) throw error;
      // A refusal is an answer: it ends an outage as a grant does.
      if (error instanceof IdpUnreachableError) {
        this.#refreshOutage.unreachable(session.sessionId, error.message, config.idpUnreachable);
      } else this.#refreshOutage.answered();
      if (error instanceof IdpRejectedError && error.rotated === undefined && !retried) {
        const current = await this.#rotatedMeanwhile(session, presented);
        if (current !== undefined) return { rotatedElsewhere: current };
      }
      if (error.rotated !== undefined) {
        // Granted, then its follow-up failed: the token it replaced is dead; kept, whatever
        // is decided below (or revoked, when the session was ended meanwhile).
        const rotated = error.rotated;
        const kept = await this.#writeRotated(
          session,
          presented,
          rotated,
          (current) => ({ ...current, ...rotated }),
        );
        if (kept === undefined) {
          await sessionEnd.revokeToken(session.username, rotated.refreshToken, session.sid);
        } else session = kept;
      }
      // An outage is told once (refresh_outage.ts), and each client by its decision's line (a
      // REAUTH's denial or admission, the periodic re-check's audit line): this session's part
      // of it is at debug.
      const unreachable = error instanceof IdpUnreachableError ? config.idpUnreachable : undefined;
      if (unreachable === "allow") {
        log.debug(
          "Identity provider unreachable; judging {username} on the session (idp_unreachable = allow)",
          { username: session.username },
        );
        return { ...await this.#rejudge(session, client, disconnect), idpUnreachable: unreachable };
      }
      // Refused once the refresh token had run out: the IdP session ended by its timeouts, not
      // (as far as anyone can tell) because the user was disabled.
      const expired = error instanceof IdpRejectedError && refreshTokenExpired(session, now());
      // The IdP refusing the user's grant (the user disabled or signed out, the IdP session
      // ended) is the check working as meant, told again by the denial and audit lines: info. A
      // refusal of the bridge's own request (invalid_client) is the operator's to mend: a
      // warning. An IdP that could not answer is too, warned about once by its outage's line.
      const level = error instanceof IdpRejectedError
        ? "info"
        : unreachable === undefined
        ? "warning"
        : "debug";
      if (expired) {
        log[level](
          "Refresh for {username} failed: {error}; the refresh token had expired at {expiredAt} " +
            "({hint})",
          {
            username: session.username,
            error: error.message,
            expiredAt: new Date(session.refreshExpiresAt!).toISOString(),
            hint: words(IDP_SESSION_HINT),
          },
        );
      } else {
        log[level]("Refresh for {username} failed: {error}", {
          username: session.username,
          error: error.message,
        });
      }
      // The grant is gone: the session cannot be re-checked ever again.
      if (error instanceof IdpRejectedError) {
        await sessionEnd.endHeld(session, expired ? "idp-session-expired" : "recheck-denied", {
          kill: disconnect,
        });
      } else if (disconnect) await sessionEnd.disconnect(session);
      const denial = expired ? REFRESH_TOKEN_EXPIRED : refreshCheckDenial(error);
      return unreachable === undefined
        ? { admit: false, denial, session }
        : { admit: false, denial, session, idpUnreachable: unreachable };
    }
    this.#refreshOutage.answered();
    let claims = result.claims;
    if (claims === undefined) {
      // No ID token and no userinfo endpoint (warned at start-up): the grant is still valid,
      // but what the IdP says about the user now is unknown.
      log.warning(
        "Refresh for {username} brought no claims (no ID token, no userinfo endpoint): policy applied to the claims from sign-in",
        { username: session.username },
      );
      claims = session.claims;
    }
    const policy = config.policy(client.server);
    const verdict = this.#judge(claims, client, policy);
    if (!verdict.allow) {
      if (session.server === client.server) {
        await sessionEnd.endHeld(session, "recheck-denied", {
          kill: disconnect,
          refreshToken: result.refreshToken,
        });
      } else {
        // Refused by another server's policy: the session stays where it was, with the token
        // the IdP rotated (the old one is dead), unless it was ended meanwhile.
        const kept = await this.#writeRotated(session, presented, result, (current) => ({
          ...current,
          refreshToken: result.refreshToken,
          refreshExpiresAt: result.refreshExpiresAt,
        }));
        if (kept === undefined) {
          await sessionEnd.revokeToken(session.username, result.refreshToken, session.sid);
        }
      }
      return { admit: false, denial: verdict.denial, session };
    }
    const learned = {
      ...rebind,
      username: verdict.identity.username,
      claims: policyClaims(claims, policy!),
      groups: verdict.identity.groups,
      roles: verdict.identity.roles,
      refreshToken: result.refreshToken,
      refreshExpiresAt: result.refreshExpiresAt,
      lastAuthAt: now(),
    };
    // Stored at once: the IdP may have rotated the refresh token, and the old one is dead. A
    // session ended meanwhile (another bridge instance revoked it while the IdP answered) is
    // not brought back: the client is refused, and the token the IdP just issued revoked.
    const updated = await this.#writeRotated(
      session,
      presented,
      result,
      (current) => ({ ...current, ...learned }),
    );
    if (updated === undefined) {
      await sessionEnd.revokeToken(session.username, result.refreshToken, session.sid);
      return { admit: false, denial: UNKNOWN_SESSION, session };
    }
    return { admit: true, session: updated, lines: verdict.lines, refreshed: true };
  }

  /**
   * #updateWith of a change carrying the token the IdP rotated `presented` into: if the store
   * fails, that token is kept in memory (the stored one is dead), to be presented and written
   * instead.
   */
  async #writeRotated(
    read: Session,
    presented: string,
    rotated: Pick<Session, "refreshToken" | "refreshExpiresAt">,
    change: (current: Session) => Session,
  ): Promise<Session | undefined> {
    try {
      return await this.#updateWith(read, change);
    } catch (error) {
      if (!this.#unstored.keep(read.sessionId, presented, rotated)) throw error;
      this.#deps.log.warning(
        "The refresh token the identity provider rotated for {username} could not be stored " +
          "({error}): kept in this process until a write of the session succeeds",
        { username: read.username, error: String(error) },
      );
      throw error;
    }
  }

  /**
   * Writes `change(read)`. Another bridge instance may have written the session since it was
   * read (it moved through another OpenVPN server): the store then refuses the write (Redis
   * compares the version read), and the same change is applied to what is there now, so that
   * neither write undoes the other. Undefined when the session is gone or another sign-in's:
   * ended meanwhile.
   */
  async #updateWith(
    read: Session,
    change: (current: Session) => Session,
  ): Promise<Session | undefined> {
    const { store } = this.#deps;
    let current = read;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      // A rotated token the store did not take is written now in place of the dead one.
      const next = this.#unstored.apply(change(current));
      if (await store.updateSession(next)) {
        this.#unstored.written(read.sessionId);
        return next;
      }
      const again = await store.getSession(read.sessionId);
      if (again === undefined || again.createdAt !== read.createdAt) return undefined;
      current = again;
    }
    return undefined;
  }
}

/**
 * Whether `current`, as the store has it now, is still the session a sign-in stored: not ended
 * since, nor replaced by another sign-in's under the same id (the client came back with the same
 * OpenVPN session id).
 */
function sameSignIn(current: Session | undefined, stored: Session): boolean {
  return current?.createdAt === stored.createdAt && current.subject === stored.subject;
}
