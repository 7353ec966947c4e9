/**
 * Which sessions a revocation ends: those of an IdP SSO session or subject (back-channel
 * logout), or those an administrator names. The ending itself is SessionEnd's.
 *
 * A revocation the store cannot carry out is not lost, whatever the store failed with (Redis
 * restarting, a node a failover made a replica, a session file locked by another process, a full
 * disk): the sessions it names that this process knows of are dropped from that record at once,
 * so that store_unreachable = "allow" admits none of them, and it is kept and carried out once
 * the store takes it (revocation_retries.ts). Keycloak does not send a logout again: a failure
 * taken for a lasting one and dropped left the sessions, and their clients connected, until they
 * expired. Only a closed store's refusal is not kept: the service is stopping.
 */
import type { Logger } from "@logtape/logtape";
import { type Clock, systemClock } from "../clock.ts";
import { words } from "../log.ts";
import { WallOffset } from "../wall_offset.ts";
import type { VerifiedLogout } from "../oidc/logout_verifier.ts";
import type { KnownSessions } from "../sessions/known_sessions.ts";
import { StoreClosedError } from "../sessions/store_closed.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import type { Session, SessionStore } from "../sessions/types.ts";
import { type HeldRevocation, MAX_HELD, RevocationRetries } from "./revocation_retries.ts";
import type { EndReason, EndReport, SessionEnd } from "./session_end.ts";
import { errorText } from "../error_text.ts";

export type RevocationTarget =
  | { kind: "user"; username: string }
  | { kind: "subject"; subject: string }
  | { kind: "session"; sessionId: string };

/** A verified back-channel logout: `sid` (of `sub`, when both), or every session of `sub`. */
interface LogoutTarget {
  kind: "logout";
  sid: string | undefined;
  sub: string | undefined;
  jti: string;
  /** Until when the IdP could send the token again and have it pass validation. */
  replayUntil: number;
}

type Target = RevocationTarget | LogoutTarget;

/** How many kept revocations a stop names in its log line (the count says the rest). */
const NAMED_AT_STOP = 10;

export interface RevocationDeps {
  store: SessionStore;
  end: Pick<SessionEnd, "endAll">;
  /** Validates a logout token (signature, claims, replay); throws LogoutTokenError. */
  verifyLogoutToken: (token: string) => Promise<VerifiedLogout>;
  log: Logger;
  /**
   * What this process knows of its clients' sessions (store_unreachable = "allow"): a
   * revocation the store cannot carry out drops the sessions it names from it at once.
   */
  knownSessions?: Pick<KnownSessions, "forgetWhere">;
  /** Times the retries of revocations the store could not take; the system clock unless given. */
  clock?: Clock;
  /** How long such a revocation is tried: sessions.lifetime. */
  keepForMs: number;
  /**
   * oidc.clock_tolerance: how far another instance's clock may be from this one's. A kept
   * revocation also ends the sessions stamped within it of the store's failure.
   */
  clockToleranceSec: number;
}

/**
 * An administrator's revoke that the store could not carry out (nothing, or only part of it,
 * was): its message, for the administrator, says whether it is kept for when the store answers.
 */
export class RevokeDeferredError extends Error {
  override readonly name = "RevokeDeferredError";
}

/**
 * A back-channel logout the store failed other than by being unreachable (a StoreUnavailableError
 * is thrown as it is): kept all the same, so the IdP is answered as for that one, 503.
 */
export class LogoutDeferredError extends Error {
  override readonly name = "LogoutDeferredError";
}

export class Revocation {
  readonly #deps: RevocationDeps;
  readonly #clock: Clock;
  readonly #retries: RevocationRetries<Target>;
  /**
   * Logout tokens a retry carried out, `jti` -> until when the token is valid: the IdP was
   * answered 503 and may send it again, which then ends nothing (sessions begun since are not
   * its). The verifier had let the `jti` in again for that resend.
   */
  readonly #carriedOut = new Map<string, number>();
  readonly #toleranceMs: number;
  /** The wall clock less the monotonic one, at the last reading (#read). */
  readonly #wallOffset: WallOffset;
  /** The latest wall time the clock can have read so far, so the newest stamp made here (#read). */
  #newestStamp: number;
  /** #newestStamp when the store last failed this process (see sessionsToEnd). */
  #storeFailedAt: number | undefined;

  constructor(deps: RevocationDeps) {
    const toleranceSec = deps.clockToleranceSec;
    if (!(toleranceSec >= 0)) throw new RangeError(`Invalid clock tolerance: ${toleranceSec}`);
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#toleranceMs = toleranceSec * 1000;
    this.#wallOffset = new WallOffset(this.#clock);
    this.#newestStamp = this.#clock.now();
    this.#retries = new RevocationRetries<Target>(
      (held) => this.#carryOut(held),
      this.#clock,
      deps.keepForMs,
      (held, why) =>
        deps.log.error(
          "Gave up the {what} kept since the session store could not carry it out ({why}): " +
            "its sessions stay until they expire; end them with 'sessions revoke'",
          { what: words(describe(held.what)), why: words(why) },
        ),
    );
  }

  /** Revocations kept until the store answers. */
  get held(): number {
    return this.#retries.size;
  }

  /**
   * Back-channel logout: with `sid`, the sessions of that IdP session (of that subject, when
   * `sub` is present too); with only `sub`, every session of the subject. Returns how many ended.
   * Throws StoreUnavailableError when the store could not be reached, LogoutDeferredError when it
   * failed otherwise: the logout is then kept and carried out once the store takes it, and the
   * IdP may send the token again meanwhile. A closed store's error is thrown as it is, not kept.
   */
  async logout(token: string): Promise<number> {
    const request = await this.#deps.verifyLogoutToken(token);
    if (this.#wasCarriedOut(request.jti)) {
      this.#deps.log.debug("Back-channel logout sent again after it was carried out: ignored");
      return 0;
    }
    const target: LogoutTarget = {
      kind: "logout",
      sid: request.sid,
      sub: request.sub,
      jti: request.jti,
      replayUntil: request.replayUntil,
    };
    const key = keyOf(target);
    // Sent again while kept: carried out as the retry would (sessions begun since are not its).
    const kept = this.#retries.get(key);
    try {
      const ended = await this.#logout(target, kept !== undefined);
      this.#retries.delete(key);
      return ended;
    } catch (error) {
      // Not carried out: the IdP may send the same token again.
      request.forget();
      if (error instanceof StoreClosedError) throw error;
      this.#storeFailed();
      const held = this.#hold(key, target, kept?.at ?? this.#clock.now(), error);
      if (error instanceof StoreUnavailableError) throw error;
      throw new LogoutDeferredError(
        `Back-channel logout not carried out, ${held ? "kept" : "not kept"}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * An administrator's revoke: how many sessions ended, and whose clients are still connected.
   * Throws RevokeDeferredError when the store could not carry it out (it is kept for when the
   * store answers), but for a closed store's error, thrown as it is.
   */
  async revoke(target: RevocationTarget): Promise<EndReport> {
    const key = keyOf(target);
    const kept = this.#retries.get(key);
    try {
      const report = await this.#endAll(await this.#find(target, false), "admin-revoke");
      this.#retries.delete(key);
      return report;
    } catch (error) {
      if (error instanceof StoreClosedError) throw error;
      this.#storeFailed();
      const held = this.#hold(key, target, kept?.at ?? this.#clock.now(), error);
      const fault = error instanceof StoreUnavailableError
        ? "Session store unreachable"
        : "Session store failed";
      throw new RevokeDeferredError(
        held
          ? `${fault}: the revoke is kept and carried out once the store answers (the service ` +
            "log says when); until then this service admits none of those sessions at " +
            "renegotiation"
          : `${fault}: the revoke is not done, and the service is stopping and does not keep ` +
            "it: run it again once the store answers",
        { cause: error },
      );
    }
  }

  /** Stops the retries; revocations still kept are dropped, and the log names them. */
  close(): void {
    const left = this.#retries.close();
    if (left.length === 0) return;
    const named = left.slice(0, NAMED_AT_STOP).map((held) => describe(held.what)).join(", ");
    this.#deps.log.error(
      "Stopping with {count} revocation(s) the session store never took, not carried out: " +
        "{named}{more}; end those sessions with 'sessions revoke' once the store answers",
      {
        count: left.length,
        named: words(named),
        more: words(left.length > NAMED_AT_STOP ? ` and ${left.length - NAMED_AT_STOP} more` : ""),
      },
    );
  }

  /**
   * The store failed `target`: the sessions this process knows it names are dropped first (so
   * "allow" stops admitting them now), then it is kept. False when it could not be kept (the
   * retries are closed: the service is stopping).
   */
  #hold(key: string, target: Target, at: number, error: unknown): boolean {
    const dropped = this.#deps.knownSessions?.forgetWhere(picks(target)) ?? 0;
    const added = this.#retries.add({ key, at, what: target });
    const held = added || this.#retries.get(key) !== undefined;
    this.#deps.log.warning(
      "The {what} could not be carried out, the session store {failed}: {fate}; " +
        "{dropped} session(s) this bridge knew of dropped ({error})",
      {
        what: words(describe(target)),
        failed: words(error instanceof StoreUnavailableError ? "is unreachable" : "failed"),
        fate: words(
          !held
            ? "not kept, the service is stopping"
            : added
            ? "kept and carried out once the store answers"
            : "already kept",
        ),
        dropped,
        error: errorText(error),
      },
    );
    return held;
  }

  /** A kept revocation, once more (revocation_retries.ts); rejects while the store fails. */
  async #carryOut(held: HeldRevocation<Target>): Promise<void> {
    try {
      await this.#carryOutNow(held.what);
    } catch (error) {
      if (!(error instanceof StoreClosedError)) this.#storeFailed();
      throw error;
    }
  }

  async #carryOutNow(what: Target): Promise<void> {
    if (what.kind === "logout") {
      const ended = await this.#logout(what, true);
      this.#rememberCarriedOut(what.jti, what.replayUntil);
      this.#deps.log.info(
        "The {what}, kept since the session store could not carry it out, is carried out: " +
          "{ended} session(s) ended",
        { what: words(describe(what)), ended },
      );
      return;
    }
    const { ended, stillConnected } = await this.#endAll(
      await this.#find(what, true),
      "admin-revoke",
    );
    this.#deps.log.info(
      "The {what}, kept since the session store could not carry it out, is carried out: " +
        "{ended} session(s) ended, {still} client(s) still connected",
      { what: words(describe(what)), ended, still: stillConnected.length },
    );
  }

  /** `kept`: a kept logout by `sub` spares the sessions begun since (see sessionsToEnd). */
  async #logout(target: LogoutTarget, kept: boolean): Promise<number> {
    const { store } = this.#deps;
    let sessions: Session[];
    if (target.sid !== undefined) {
      // Every session of a `sid` began before its logout: the IdP gives a new sign-in a new one.
      sessions = (await store.findSessionsBySid(target.sid))
        .filter((session) => target.sub === undefined || session.subject === target.sub);
    } else {
      sessions = this.#ofRevocation(await store.findSessionsBySubject(target.sub!), kept);
    }
    // The logout token names a sid, a subject, or both: the line names what it named.
    const named = [
      ...(target.sid === undefined ? [] : ["sid {sid}"]),
      ...(target.sub === undefined ? [] : ["subject {sub}"]),
    ].join(" and ");
    this.#deps.log.debug(`Back-channel logout for ${named}: {found} session(s)`, {
      sid: target.sid,
      sub: target.sub,
      found: sessions.length,
    });
    const { ended } = await this.#endAll(sessions, "backchannel-logout");
    this.#deps.log.info("Back-channel logout ({by}): {ended} session(s) ended", {
      by: words(target.sid !== undefined ? "sid" : "sub"),
      ended,
    });
    return ended;
  }

  async #find(target: RevocationTarget, kept: boolean): Promise<Session[]> {
    const { store } = this.#deps;
    switch (target.kind) {
      case "user":
        return this.#ofRevocation(await store.findSessionsByUsername(target.username), kept);
      case "subject":
        return this.#ofRevocation(await store.findSessionsBySubject(target.subject), kept);
      case "session": {
        const session = await store.getSession(target.sessionId);
        return this.#ofRevocation(session ? [session] : [], kept);
      }
    }
  }

  /** All of `found` for a revocation carried out as it comes; for a kept one, sessionsToEnd. */
  #ofRevocation(found: Session[], kept: boolean): Session[] {
    if (!kept) return found;
    // Kept with no failure seen cannot happen (#hold follows one); were it to, all would end.
    return sessionsToEnd(found, this.#storeFailedAt, this.#read(), this.#toleranceMs);
  }

  /** The store failed this process: a kept revocation spares only sessions stamped later. */
  #storeFailed(): void {
    this.#read();
    this.#storeFailedAt = this.#newestStamp;
  }

  /**
   * The wall time, and #newestStamp brought up to it: the clock may have read as far ahead as at
   * the last reading until just before this one, and a wall clock stepped back since left the
   * stamps made before the step that much later than its time now.
   */
  #read(): number {
    const { wall, monotonic, ahead, previousAhead } = this.#wallOffset.read();
    this.#newestStamp = Math.max(this.#newestStamp, monotonic + Math.max(previousAhead, ahead));
    return wall;
  }

  #endAll(sessions: readonly Session[], reason: EndReason): Promise<EndReport> {
    return this.#deps.end.endAll(sessions.map((session) => session.sessionId), reason);
  }

  #wasCarriedOut(jti: string): boolean {
    const until = this.#carriedOut.get(jti);
    return until !== undefined && until >= this.#clock.now();
  }

  #rememberCarriedOut(jti: string, until: number): void {
    const now = this.#clock.now();
    if (until < now) return;
    for (const [seen, expiry] of this.#carriedOut) {
      if (expiry >= now) break;
      this.#carriedOut.delete(seen);
    }
    this.#carriedOut.set(jti, until);
    if (this.#carriedOut.size > MAX_HELD) {
      this.#carriedOut.delete(this.#carriedOut.keys().next().value!);
    }
  }
}

/**
 * Which of the sessions a kept revocation names it ends once the store answers: all but those
 * begun after the store came back (the user may have signed in again, and that session is not
 * the one revoked). When it came back is known only as after the store's last failure; a
 * session's createdAt is the wall clock of whichever instance stamped it.
 *
 * Fails closed. Compared with the wall time of the revocation, a session stamped before chrony
 * stepped the clock back (or by an instance whose clock runs ahead) looked begun after it and
 * was skipped: its client never killed, its REAUTHs resumed it. So a session is spared only if
 * stamped later than `failedAt`, the latest time any stamp of this process could carry when the
 * store last failed (the wall time then, or the time it read before a step back), and no later
 * than `now`, both by more than the clock tolerance (another instance's clock). Anything else may
 * have existed at the revocation and ends; so does a sign-in within the tolerance of the failure,
 * or made before the wall clock caught up with a step back (the user signs in again). Left: a
 * stamp made ahead by a clock this process did not see ahead (stepped forward and back between
 * its readings, a previous run's, another instance's beyond the tolerance) that lands in that
 * span, at most a retry delay wide: no reading of these clocks tells it apart.
 */
function sessionsToEnd(
  sessions: Session[],
  failedAt: number | undefined,
  now: number,
  toleranceMs: number,
): Session[] {
  if (failedAt === undefined) return sessions;
  return sessions.filter((session) =>
    session.createdAt <= failedAt + toleranceMs || session.createdAt > now + toleranceMs
  );
}

/** One kept revocation per key: the same logout token, or the same revoke asked again. */
function keyOf(target: Target): string {
  switch (target.kind) {
    case "logout":
      return `logout\u0000${target.jti}`;
    case "user":
      return `user\u0000${target.username}`;
    case "subject":
      return `subject\u0000${target.subject}`;
    case "session":
      return `session\u0000${target.sessionId}`;
  }
}

/** Which of the sessions this process knows `target` names, as the store lookups pick them. */
function picks(target: Target): (session: Session) => boolean {
  switch (target.kind) {
    case "logout": {
      const { sid, sub } = target;
      return sid !== undefined
        ? (session) => session.sid === sid && (sub === undefined || session.subject === sub)
        : (session) => session.subject === sub;
    }
    case "user":
      return (session) => session.username === target.username;
    case "subject":
      return (session) => session.subject === target.subject;
    case "session":
      return (session) => session.sessionId === target.sessionId;
  }
}

function describe(target: Target): string {
  switch (target.kind) {
    case "logout":
      // Both are the IdP's claims (a sub may be a name the user chose): quoted, as data.
      return `back-channel logout (sid ${quotedOrDash(target.sid)}, subject ${
        quotedOrDash(target.sub)
      })`;
    case "user":
      return `revoke of user ${JSON.stringify(target.username)}`;
    case "subject":
      return `revoke of subject ${JSON.stringify(target.subject)}`;
    case "session":
      return `revoke of session ${JSON.stringify(target.sessionId)}`;
  }
}

function quotedOrDash(claim: string | undefined): string {
  return claim === undefined ? "-" : JSON.stringify(claim);
}
