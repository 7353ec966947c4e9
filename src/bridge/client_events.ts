/**
 * Answers one OpenVPN server's client events: CONNECT and REAUTH by the decision table
 * (decide.ts), DISCONNECT by unbinding or ending the session. One instance per management
 * connection; events are handled concurrently, each awaiting only its own I/O. Its tunnels'
 * audit lines (`established`, `client_left`) are tunnel_audit.ts's, and the answers it holds
 * while the link is down held_answers.ts's.
 */
import type { Logger } from "@logtape/logtape";
import { words } from "../log.ts";
import { requestWords } from "./client_request_words.ts";
import { audit, type AuditDetails, type AuditSubject, auditSubject } from "../audit.ts";
import type { Clock } from "../clock.ts";
import { loggedCertificateName } from "../logged_certificate.ts";
import type { ResolvedConfig } from "../config/types.ts";
import { loginUrl } from "./login_url.ts";
import type { ClientEnv } from "../management/events.ts";
import type { KnownSessions } from "../sessions/known_sessions.ts";
import { StoreUnavailableError } from "../sessions/store_unavailable.ts";
import { StoreFullError } from "../sessions/store_full.ts";
import type { PendingLogin, Session, SessionStore } from "../sessions/types.ts";
import { noMetrics, type ServerMetrics } from "../metrics/port.ts";
import type { Admission } from "./admission.ts";
import type { HeldSignInAnswer } from "./admission_types.ts";
import {
  answerRefusal,
  type ClientCommander,
  notWritten,
  outcomeUnknown,
  type SignInRef,
} from "./commander.ts";
import { KILL_MESSAGE } from "./session_end.ts";
import { clientKill } from "../management/commands.ts";
import {
  type ClientRequest,
  decide,
  decideNewClient,
  type Decision,
  presentsToken,
  readsSession,
  sessionIdUnverified,
} from "./decide.ts";
import { EnvClientRequest } from "./client_request.ts";
import { decideWithoutStore } from "./decide_without_store.ts";
import {
  type Denial,
  INTERNAL_ERROR,
  SIGN_IN_TIMED_OUT,
  STORE_FULL,
  TOO_MANY_SIGN_INS,
} from "./denial.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { type AnswerApart, answersApart } from "./answers_apart.ts";
import { sendRefusal } from "./refusal.ts";
import { AnswersInRun, OpenvpnRestartedError } from "./answers_in_run.ts";
import { type SignIn, SignIns } from "./sign_ins.ts";
import { shownClientVersion, shownPlatform } from "./peer_info.ts";
import { versionPresentsIssuedToken } from "./client_version.ts";
import { DisconnectRetries } from "./disconnect_retries.ts";
import { boundBefore, RunTold } from "./runs_told.ts";
import { isKnownRun } from "../management/openvpn_run.ts";
import {
  auditSessionLeft,
  auditTunnelLeft,
  type ClientDeparture,
  leftOf,
  TunnelAudit,
} from "./tunnel_audit.ts";
import { MANAGEMENT_TOO_OLD, servesBrowserSignIn } from "../management/openvpn_version.ts";
import { HeldAnswers, holdBounded } from "./held_answers.ts";

/** A kill held for the link: its client, the OpenVPN run it is for, and what it tells the client. */
export interface HeldKill {
  cid: number;
  run: string;
  /** The `client-kill` message, as it would have been sent (killWhenLinked). */
  message: string;
}

/** Sessions one DISCONNECT ends at most (client_events.ts, #endBinding). */
const MAX_BOUND_PER_CID = 8;

export interface ClientEventsConfig {
  baseUrl: URL;
  bypassCommonNames: readonly RegExp[];
  authPendingTimeoutMs: number;
  /** `openvpn.max_pending_per_address`: sign-ins waiting from one address at most (0: any). */
  maxPendingPerAddress: number;
  sessions: Pick<ResolvedConfig["sessions"], "reauthCheck" | "storeUnreachable">;
}

export interface ClientEventsDeps {
  /** Name of the OpenVPN server these events come from. */
  server: string;
  commander: ClientCommander;
  store: SessionStore;
  /** Shared by every server and the login flow: the policy, one lock per session. */
  admission: Admission;
  config: ClientEventsConfig;
  clock: Clock;
  /** A fresh unguessable login id (login_url.ts, `newLoginId`). */
  newLoginId: () => string;
  log: Logger;
  /** Counting for this server; nothing counted when left out. */
  metrics?: ServerMetrics;
  /**
   * The sessions this process bound (sessions.store_unreachable = "allow"): what a REAUTH is
   * judged on while the store cannot be reached.
   */
  knownSessions?: Pick<KnownSessions, "get" | "forgetClient">;
  /**
   * Only callbacks of this process take this server's sign-ins from the store: true outside a
   * cluster (the server's name is this bridge's own among those sharing the store, and a login
   * for a server a bridge does not have is never taken there: LoginFlow.view). A pending login
   * its deadline then finds gone, which none of them took, was lost with the store's data
   * (FLUSHALL, Redis restarted without persistence) while its client still waits: it is denied
   * as timed out. Unset (a cluster, where another instance's callback may hold it while the IdP
   * answers): gone counts as taken.
   */
  soleTaker?: boolean;
}

/** The client a sign-in's timeout deny went to, as its audit line names it. */
export type TimedOutClient = Pick<SignIn, "cid" | "commonName" | "clientIp">;

/**
 * The client is told a few seconds more than our own deadline: a 2.6 client gives up by itself
 * about a second after the timeout it was told, and our deny, which says why, must come first.
 */
const PENDING_GRACE_SEC = 5;

export class ClientEvents {
  readonly #deps: ClientEventsDeps;
  readonly #metrics: ServerMetrics;
  readonly #signIns: SignIns;
  /** Kills to send when the link tells the run of OpenVPN they are for again (killWhenLinked). */
  #heldKills: HeldKill[] = [];
  /**
   * Denies of sign-ins whose deadline passed while the link was down (#denyTimedOut), sent as
   * the kills are. A list of its own: a storm of them must never push out a revoked user's kill.
   */
  #heldDenies: Array<{ signIn: SignIn; run: string }> = [];
  /**
   * Answers to finished sign-ins the link did not write (holdSignInAnswer), by cid: sent when
   * the link tells their sign-in's run again, dropped when the sign-in ends first.
   */
  readonly #heldAnswers: HeldAnswers;
  /** Undoes this link's registration as the holder of its server's sign-in answers. */
  readonly #stopHoldingAnswers: () => void;
  /** What events are answered with: see answers_apart.ts. */
  readonly #answers: ClientCommander;
  /** DISCONNECTs whose session could not be ended yet. */
  readonly #disconnectRetries: DisconnectRetries<ClientDeparture>;
  /** The run the link told last, to which the runs it tells next are linked (runs_told.ts). */
  #runTold = new RunTold(undefined);
  #closed = false;
  /** adoptPendingLogins could not read the store: which clients sign in is not known. */
  #pendingNotAdopted = false;
  /**
   * The server can hold a client for browser sign-in, by the management version its link told
   * last (managementVersionIs); taken to until a link tells.
   */
  #serverSignsIn = true;
  /** A flood over `max_pending_per_address` costs the log a warning a minute (debug between). */
  readonly #tooManySignInsWarning: WarningInterval;
  /** The `established` and `client_left` lines, and who each tunnel is for them. */
  readonly #tunnels: TunnelAudit;

  constructor(deps: ClientEventsDeps) {
    this.#deps = deps;
    this.#metrics = deps.metrics ?? noMetrics.server(deps.server);
    this.#heldAnswers = new HeldAnswers(deps.log);
    this.#tunnels = new TunnelAudit({
      server: deps.server,
      store: deps.store,
      bypassCommonNames: () => deps.config.bypassCommonNames,
      authPendingTimeoutMs: () => deps.config.authPendingTimeoutMs,
      log: deps.log,
    });
    this.#answers = answersApart(deps.commander, (answer, cid, kid, error) => {
      this.#answerNotTaken(answer, cid, kid, error);
    });
    this.#disconnectRetries = new DisconnectRetries(
      (departure) => this.#clientDeparted(departure),
      deps.clock,
      ({ cid }, why) =>
        deps.log.warning(
          "DISCONNECT of cid {cid}: gave up ending its session ({why}); it ends when it expires",
          { cid, why: words(why) },
        ),
    );
    this.#signIns = new SignIns(
      (signIn) => {
        this.#expireLogin(signIn).catch((error) =>
          deps.log.warning("Denying an expired sign-in failed: {error}", { error: String(error) })
        );
      },
      deps.clock,
      () => deps.config.maxPendingPerAddress,
    );
    // CONNECTs refused by `openvpn.max_pending_per_address`.
    this.#tooManySignInsWarning = new WarningInterval(WARNING_INTERVAL_MS, () => deps.clock.now());
    // The answers to this server's sign-ins that the link cannot write wait here for it.
    this.#stopHoldingAnswers = deps.admission.holdAnswersFor(deps.server, this);
  }

  /**
   * Takes over the deadlines of this server's sign-ins that an earlier holder of the link left
   * in the store: another cluster instance, or this bridge before a restart. Call before the
   * link starts, so these, which expire first, are queued first. A store that cannot list them
   * is logged, not thrown: the link starts all the same.
   */
  async adoptPendingLogins(): Promise<number> {
    const { store, server, log } = this.#deps;
    const mine: PendingLogin[] = [];
    try {
      for await (const page of store.pendingPages()) {
        for (const login of page) if (login.server === server) mine.push(login);
      }
      mine.sort((a, b) => a.expiresAt - b.expiresAt);
      for (const login of mine) {
        const { id, cid, kid, createdAt, expiresAt, commonName, clientIp, openvpnRun } = login;
        await this.#endEarlierSignIn(cid);
        this.#signIns.track({
          id,
          cid,
          kid,
          createdAt,
          expiresAt,
          commonName,
          clientIp,
          run: openvpnRun,
        });
      }
    } catch (error) {
      this.#pendingNotAdopted = true;
      log.warning("Could not read the sign-ins in progress on {server}: {error}", {
        server,
        error: String(error),
      });
      return 0;
    }
    this.#pendingNotAdopted = false;
    if (mine.length > 0) {
      log.info("Took over {count} sign-in(s) in progress on {server}", {
        count: mine.length,
        server,
      });
    }
    return mine.length;
  }

  /**
   * The link came up with OpenVPN speaking this management version. One too old for browser
   * sign-in (openvpn_version.ts) is an error, logged once per link-up; each new client is then
   * stopped with the reason (decide.ts), where client-pending-auth failed and the client was
   * denied for an internal error, which one with `auth-retry interact` retried without end.
   */
  managementVersionIs(version: number): void {
    this.#serverSignsIn = servesBrowserSignIn(version);
    if (this.#serverSignsIn) return;
    this.#deps.log.error(
      "OpenVPN on {server} speaks management version {version}: {problem}. New clients are " +
        "stopped (client-kill with HALT) with that reason until OpenVPN is updated",
      { server: this.#deps.server, version, problem: words(MANAGEMENT_TOO_OLD) },
    );
  }

  /** The run of OpenVPN the link last told; undefined before the first time. */
  get openvpnRun(): string | undefined {
    return this.#signIns.run;
  }

  /**
   * The link told OpenVPN's run: at each link-up, and at each state change it reports (a
   * restart inside the process). A sign-in begun in another run names a client OpenVPN no
   * longer has, or, as cids start at 0 again, a new client: it ends here (sign_ins.ts), so its
   * callback shows the expired page, its deadline denies nobody, and the guard
   * (sign_in_guard.ts) refuses any answer still on its way. Resolves how many sign-ins ended.
   */
  async openvpnRunIs(run: string | undefined): Promise<number> {
    const before = this.#signIns.run;
    const { ended, unanswered } = this.#signIns.runIs(run);
    if (this.#signIns.run !== before) {
      this.#runTold = this.#runTold.followedBy(this.#signIns.run);
      // Their clients went with their run; the cids name others now.
      this.#tunnels.runIs(this.#signIns.run);
    }
    this.#sendHeldForLink();
    if (ended.length === 0) return 0;
    const { store, server, log } = this.#deps;
    // Only those still waiting were cut short: an answered one's user is in (SignIns keeps it
    // to its deadline), and counting it read as users turned away by the restart.
    if (unanswered > 0) {
      log.info(
        "Ended {count} unanswered sign-in(s) begun before OpenVPN on {server} restarted: their " +
          "client numbers now name other clients",
        { server, count: unanswered },
      );
    }
    // Together, not one store round trip after another. One not deleted (the store is out):
    // the guard still refuses its answer.
    await Promise.all(
      ended.map((entry) =>
        store.deletePending(entry.id).catch((error) =>
          log.warning("Could not delete a sign-in OpenVPN's restart ended: {error}", {
            error: String(error),
          })
        )
      ),
    );
    return ended.length;
  }

  /**
   * A client whose session ended while its kill could not be sent (the link down): killed when
   * the link tells OpenVPN's run again, if that is the run the cid was seen in (within a run a
   * cid names one client; after a restart the client is gone and the cid may name another).
   * That run is the session's (`run`), or else the one this link was last up in. It goes out
   * with the `message` it would have had (`RESTART,<text>`, `HALT,<text>`): a kill held bare told
   * a device displaced by max_per_user nothing, and restarted a client to be halted (an unasked
   * token admission), which came back on its token once more before it was.
   */
  killWhenLinked(cid: number, message: string, run = this.#signIns.run): void {
    if (run === undefined || this.#closed) return;
    holdBounded(this.#heldKills, { cid, run, message: heldKillMessage(message) });
  }

  /**
   * Whether the client at `cid` may be waiting for its user's sign-in, not for a CONNECT OpenVPN
   * never sent: this bridge holds a sign-in on it (begun here, or taken over from the store at
   * start), or the store could not list the sign-ins to take over (any client may then be one,
   * and a callback can still answer it: sign_in_guard.ts).
   */
  maySignInOn(cid: number): boolean {
    return this.#pendingNotAdopted || this.#signIns.hasOn(cid);
  }

  /**
   * The cids of this server that sessions are bound to in the run the link told (or with no run
   * recorded). A client the bridge admitted before it
   * restarted can show no virtual address too (a TAP bridge whose clients take their address
   * from the LAN's DHCP): it is connected, not unheard (unheard_clients.ts). Rejects when the
   * store cannot say.
   */
  async boundCids(): Promise<Set<number>> {
    const run = this.#signIns.run;
    const bindings = await this.#deps.store.listBindings(this.#deps.server);
    return new Set(
      bindings.filter(({ openvpnRun }) => openvpnRun === undefined || openvpnRun === run)
        .map(({ cid }) => cid),
    );
  }

  /**
   * Restarts a client OpenVPN never told the bridge of (unheard_clients.ts): `client-kill` with
   * RESTART, in the run the link told, so that the client reconnects with its token.
   */
  restartUnheard(cid: number): Promise<void> {
    return this.#deps.commander.kill(cid, KILL_MESSAGE, this.#signIns.run);
  }

  /**
   * Hands out the kills still held, and holds them no longer: a cluster's holding period that
   * ends before its link is back queues them again for the next holder (leased_link.ts).
   */
  takeHeldKills(): HeldKill[] {
    return this.#heldKills.splice(0);
  }

  /**
   * Hands out the denies still held, and holds them no longer: a cluster's holding period that
   * ends before its link is back queues them again for the next holder (leased_link.ts).
   */
  takeHeldDenies(): Array<{ signIn: SignIn; run: string }> {
    return this.#heldDenies.splice(0);
  }

  /**
   * Sends what was held for the run the link told now; the rest is dropped: its client went
   * with its run, and its cid may name another client now.
   */
  #sendHeldForLink(): void {
    this.#heldAnswers.sendFor(this.#signIns.run);
    if (this.#heldKills.length === 0 && this.#heldDenies.length === 0) return;
    const kills = this.#heldKills;
    const denies = this.#heldDenies;
    this.#heldKills = [];
    this.#heldDenies = [];
    const run = this.#signIns.run;
    const { log, commander } = this.#deps;
    for (const { cid, message } of kills.filter((kill) => kill.run === run)) {
      commander.kill(cid, message).then(
        () => log.info("Killed cid {cid}: its session ended while the link was down", { cid }),
        (error) =>
          log.warning("client-kill of cid {cid} failed: {error}", { cid, error: String(error) }),
      );
    }
    let dropped = 0;
    for (const held of denies) {
      if (held.run !== run) {
        dropped++;
        continue;
      }
      this.#denyTimedOut(held.signIn).catch((error) =>
        log.warning("Denying an expired sign-in failed: {error}", { error: String(error) })
      );
    }
    if (dropped > 0) {
      log.info(
        "Did not deny {count} sign-in(s) that timed out while the link was down: OpenVPN " +
          "restarted meanwhile, and their clients went with it",
        { count: dropped },
      );
    }
  }

  /**
   * Holds the answer to a finished sign-in that the link did not write (down), until the link
   * tells the sign-in's run again (Admission). Only while the sign-in still waits: a sign-in
   * ends with its client's DISCONNECT, its deadline, a newer sign-in on the cid, or OpenVPN's
   * restart, and its held answer is dropped then; nothing else would tell it. Not for a run
   * OpenVPN did not tell: no link-up tells that run again.
   */
  holdSignInAnswer(answer: HeldSignInAnswer): boolean {
    const { cid, signIn } = answer;
    if (
      this.#closed || !isKnownRun(signIn.openvpnRun) || !this.#signIns.tracks(cid, signIn.loginId)
    ) return false;
    this.#heldAnswers.hold(answer);
    return true;
  }

  /**
   * A callback of this process is about to take sign-in `loginId` on `cid` from the store
   * (SignInAnswerHolder); returns the undo, for a take that found nothing or failed.
   */
  signInTaking(cid: number, loginId: string): () => void {
    return this.#signIns.taking(cid, loginId);
  }

  /**
   * The answer to a finished sign-in was written (sign_in_guard.ts): its client no longer waits,
   * and no longer counts against `max_pending_per_address` (SignIns.answered).
   */
  signInAnswered(cid: number, signIn: SignInRef): void {
    this.#signIns.answered(cid, signIn.loginId);
  }

  /** Whether a finished sign-in still names the client at `cid` (SignIns.isCurrent). */
  isCurrentSignIn(cid: number, signIn: SignInRef): boolean | undefined {
    return this.#signIns.isCurrent(cid, signIn);
  }

  /**
   * Stops the sign-in deadlines (the service is stopping). Answers still waiting for OpenVPN's
   * reply were written: their replies are lost with the link we close, not refused.
   */
  close(): void {
    this.#closed = true;
    this.#stopHoldingAnswers();
    // As the held kills and denies: abandoned. Their sessions stay bound to their clients, to
    // be ended (or unbound) by a DISCONNECT or the client list at the next link-up.
    const abandoned = this.#heldAnswers.clear();
    if (abandoned > 0) {
      this.#deps.log.info(
        "{count} answer(s) to finished sign-ins held for the link not sent: the link stopped",
        { count: abandoned },
      );
    }
    this.#signIns.close();
    this.#disconnectRetries.close();
  }

  /**
   * A restarted OpenVPN numbers its clients from 0 again, each new one with key id 1. In place
   * it first sends a DISCONNECT for each client (openvpn_run.ts), which ends its sign-in; but
   * none reaches the bridge while the link is down (OpenVPN restarted as a new process, or
   * crashed), and a sign-in taken over from the store (adoptPendingLogins) may be of such a
   * client: a sign-in still pending from before the restart names a new client's cid and kid.
   * Finished later, its client-auth would let the new client in as that user, and its deadline
   * would deny the new client. So a sign-in started on a cid ends the one started earlier on it.
   */
  async #endEarlierSignIn(cid: number): Promise<void> {
    const earlier = this.#signIns.endOn(cid);
    if (earlier === undefined) return;
    const held = this.#heldAnswers.take(cid, earlier.id);
    if (held !== undefined) this.#heldAnswers.drop(held, "a newer sign-in began on its client id");
    await this.#deps.store.deletePending(earlier.id);
  }

  /** Its deadline passed while it was still the latest sign-in on its cid. */
  async #expireLogin(entry: SignIn): Promise<void> {
    const held = this.#heldAnswers.take(entry.cid, entry.id);
    if (held !== undefined) {
      // Finished, but the link was not back in time to tell OpenVPN: a sign-in not completed in
      // time, whose client is told so as any other's.
      this.#heldAnswers.drop(held, "its deadline passed before the management link was back", {
        timedOut: true,
      });
      await this.#denyTimedOut(entry);
      return;
    }
    // Gone means a callback took it (and answers it): nothing to say; the client is still
    // waiting (a DISCONNECT would have ended the sign-in), so where no callback can have taken
    // it, the store lost it (soleTaker). A store that cannot say cannot hand the login to a
    // callback either: deny, so the client hears why.
    const deleted = await this.#deps.store.deletePending(entry.id).catch((error) => {
      if (error instanceof StoreUnavailableError) return true;
      throw error;
    });
    if (!deleted) {
      if (!this.#deps.soleTaker || this.#signIns.takenHere(entry)) return;
      this.#deps.log.warning(
        "Sign-in for cid {cid}: its pending login is gone from the session store and no " +
          "callback took it (the store lost its data: a FLUSHALL, or Redis restarted without " +
          "persistence)",
        { cid: entry.cid },
      );
    }
    await this.#denyTimedOut(entry);
  }

  /**
   * Refuses a sign-in whose deadline passed (with HALT: refusal.ts). One the link could not write
   * (down, or a new holder's link not up yet: its deadline may pass at once when taken over) is
   * held for the link, and sent when it tells the sign-in's run again: the client is still waiting
   * then, and would otherwise get OpenVPN's bare timeout instead of the reason. Logged, counted and
   * audited as a denial when written, so the record never claims a deny that was not sent.
   */
  async #denyTimedOut(entry: SignIn): Promise<void> {
    const { commander, log } = this.#deps;
    try {
      await sendRefusal(commander, entry, SIGN_IN_TIMED_OUT, true);
    } catch (error) {
      if (!notWritten(error)) {
        this.signInTimedOut(entry);
        throw error;
      }
      // Only a run OpenVPN told can be told again (a link-up makes a new unknown one).
      const run = entry.run;
      if (!isKnownRun(run) || this.#closed) throw error;
      log.info(
        "Sign-in for cid {cid} not completed in time: to be denied once the link is up ({error})",
        { cid: entry.cid, error: String(error) },
      );
      holdBounded(this.#heldDenies, { signIn: entry, run });
      return;
    }
    this.signInTimedOut(entry);
  }

  /**
   * A sign-in's timeout was sent: logged, counted and audited as a denial. Here, or by a
   * cluster's next holder of the link, which carries out a deny this link held and never wrote
   * (leased_link.ts, work_runner.ts): one record, by whoever wrote it.
   */
  signInTimedOut(client: TimedOutClient): void {
    this.#deps.log.info("Sign-in for cid {cid} not completed in time: denied", { cid: client.cid });
    this.#metrics.login("timeout");
    this.#metrics.denial("timeout");
    // Nobody signed in, so the line names the client alone (no user name or subject).
    audit("denied", auditSubject({ server: this.#deps.server, ...client }), SIGN_IN_TIMED_OUT.code);
  }

  /**
   * Fails closed: handling a CONNECT or REAUTH went wrong, or its block was malformed and
   * dropped (`req` unknown then). The client is denied rather than left waiting, counted and
   * audited like any other denial: through Admission when the request is known, here with no
   * names when only its ids are.
   */
  denyUnhandled(
    req: EnvClientRequest | undefined,
    cid: number,
    kid: number,
    denial: Denial,
  ): Promise<void> {
    const { server, commander, admission } = this.#deps;
    if (req) return admission.deny(commander, req, denial, { presented: undefined });
    this.#metrics.denial(denial.code);
    audit(
      "denied",
      auditSubject({ server, cid, commonName: undefined, clientIp: "" }),
      denial.code,
    );
    return commander.deny(cid, kid, denial.logReason, denial.reason);
  }

  /**
   * What a CONNECT or REAUTH block asks, read out of its ENV: the request keeps no part of the
   * block (client_request.ts), so whoever waits on its answer keeps the request, not the block.
   */
  request(kind: "connect" | "reauth", cid: number, kid: number, env: ClientEnv): EnvClientRequest {
    return new EnvClientRequest(kind, this.#deps.server, cid, kid, env);
  }

  /**
   * Answers a CONNECT or REAUTH (`request()`) by the decision table. Not an async function: a
   * REAUTH waits here for its session read (a Redis round trip), and an async frame suspended
   * around it was held by every one waiting (as ServerLink's handler).
   */
  onRequest(req: EnvClientRequest): Promise<void> {
    // The run the event came in: a cid and kid name this client only within it.
    const run = this.#signIns.run;
    const sameRun = () => this.#signIns.run === run;
    const answers = new AnswersInRun(this.#answers, sameRun);
    const answering = req.sessionId
      ? this.#deps.admission.sessionLock.run(
        req.sessionId,
        () => this.#decideAndAnswer(req, answers, sameRun, run),
      )
      : this.#decideAndAnswer(req, answers, sameRun, run);
    return answering.catch((error) => this.#unanswered(req, sameRun, error));
  }

  /** A CONNECT or REAUTH whose handling failed: thrown on, unless OpenVPN restarted meanwhile. */
  #unanswered(req: EnvClientRequest, sameRun: () => boolean, error: unknown): void {
    // Any failure after a restart, too: thrown on, it is answered with a deny by its ids
    // (server_link.ts), which would reach the client that has the cid and kid now.
    if (!(error instanceof OpenvpnRestartedError) && sameRun()) throw error;
    this.#deps.log.warning(
      "{request} on cid {cid} (certificate {commonName}): OpenVPN restarted before it was " +
        "answered; no answer sent (that cid and kid now name another client, or nobody): " +
        "{error}",
      { ...who(req), error: String(error) },
    );
  }

  onConnect(cid: number, kid: number, env: ClientEnv): Promise<void> {
    return this.onRequest(this.request("connect", cid, kid, env));
  }

  onReauth(cid: number, kid: number, env: ClientEnv): Promise<void> {
    return this.onRequest(this.request("reauth", cid, kid, env));
  }

  /**
   * The bridge admitted `who` on `cid` (its answer written in OpenVPN's run `run`): a sign-in, a
   * reconnect with a token (Admission), a common name on the bypass list. Its tunnel's audit
   * lines name them (#tunnels).
   */
  clientAdmitted(cid: number, run: string | undefined, who: AuditSubject): void {
    this.#tunnels.admitted(cid, run, who);
  }

  /** The session bound to `cid` in run `run` moved to a new cid (TunnelAudit.adopt). */
  sessionMovedOff(cid: number, run: string | undefined, who: AuditSubject): void {
    this.#tunnels.adopt(cid, run, who);
  }

  /**
   * A session's end is about to kill its client (SessionEnd): the tunnel it is bound to in its
   * run was its user's (TunnelAudit.adopt), for the `client_left` line of the DISCONNECT.
   */
  sessionKilled(client: Session): void {
    if (client.server !== this.#deps.server || client.cid === undefined) return;
    this.#tunnels.adopt(client.cid, client.openvpnRun, auditSubject(client, client));
  }

  /** A client's tunnel is up (ESTABLISHED): its audit line (TunnelAudit.established). */
  onEstablished(cid: number, env: ClientEnv): Promise<void> {
    return this.#tunnels.established(cid, env);
  }

  /**
   * Ends (unbinds) the sessions bound to the cid by events that came before this DISCONNECT,
   * and no other: its store calls and session locks may wait while OpenVPN restarts in place
   * and a client of the new run, reconnecting with its token, is bound to the same cid
   * (runs_told.ts).
   */
  async onDisconnect(cid: number, env?: ClientEnv): Promise<void> {
    const { store, server, clock, log } = this.#deps;
    this.#deps.knownSessions?.forgetClient(server, cid);
    const signIn = this.#signIns.clientLeft(cid);
    // Before its session's binding is looked at below: dropped, the session is deleted.
    const held = this.#heldAnswers.take(cid);
    if (held !== undefined) this.#heldAnswers.drop(held, "its client left");
    const departure = this.#tunnels.departed(cid, env, clock.now(), this.#runTold);
    try {
      // Still stored: nobody took the sign-in to answer it.
      const unfinished = await store.deletePendingByCid(server, cid);
      if (signIn !== undefined && unfinished > 0) this.#leftSigningIn(signIn, departure.at);
      await this.#clientDeparted(departure);
    } catch (error) {
      // Its session stays bound to a cid OpenVPN will give to someone else: tried again. (Its
      // sign-in, if any, is forgotten above; the pending login expires in the store.)
      log.warning("DISCONNECT of cid {cid}: could not end its session, trying again: {error}", {
        cid,
        error: String(error),
      });
      this.#disconnectRetries.add(departure);
    }
  }

  /**
   * Ends the bindings a DISCONNECT ends (#endBinding); when none of them was its client's, the
   * session had moved to the client's new cid (a reconnect with its token), and the line names
   * the user its `established` line named, or else the user of the session that moved
   * (TunnelAudit.nameMoved).
   */
  async #clientDeparted(departure: ClientDeparture): Promise<void> {
    await this.#endBinding(departure.cid, (bound) => boundBefore(departure, bound), departure);
    if (!departure.leftAudited) await this.#tunnels.nameMoved(departure);
    auditTunnelLeft(departure);
  }

  /** How long OpenVPN holds a client for its sign-in (client-pending-auth's timeout). */
  #pendingTimeoutSec(): number {
    return Math.ceil(this.#deps.config.authPendingTimeoutMs / 1000) + PENDING_GRACE_SEC;
  }

  /**
   * A client left while its user had not finished signing in. Mostly the user gave up; when
   * nobody did, OpenVPN ended it, and the user found a dead link or got a new one (a loop, each
   * link cut at the same age): how long it waited points at the setting, e.g. an `inactive`
   * shorter than the sign-in (README, OpenVPN server configuration). OpenVPN restarting in place
   * ends every sign-in so too, and the line cannot tell: its DISCONNECTs (their ENV empty, as
   * any of a client in its sign-in) all come before the state line that says it restarted
   * (restart_in_place.ts), so the line names that cause with the others.
   */
  #leftSigningIn(signIn: SignIn, at: number): void {
    this.#deps.log.info(
      "{commonName} (cid {cid}) left {seconds} s into its browser sign-in, unfinished: its user " +
        "cancelled, OpenVPN restarted, or OpenVPN ended it, and then OpenVPN's log says why " +
        '("Inactivity timeout (--inactive)": inactive must be 0 or more than {pendingSeconds} s)',
      {
        commonName: loggedCertificateName(signIn.commonName),
        cid: signIn.cid,
        seconds: Math.round((at - signIn.createdAt) / 1000),
        pendingSeconds: this.#pendingTimeoutSec(),
      },
    );
  }

  /**
   * Ends the sessions bound to `cid` (unbinds resumable ones) one by one, as the store finds
   * them, while the binding read under the session's lock is one `toEnd` says is the gone
   * client's, or older: a session a newer event rebound to a reused cid is left alone, and so
   * is any found after it. Mostly one; more when a restart's bindings outlived it (the client
   * list could not be read then), which are ended as well, up to MAX_BOUND_PER_CID.
   */
  async #endBinding(
    cid: number,
    toEnd: (bound: Session) => boolean,
    departure?: ClientDeparture,
  ): Promise<void> {
    for (let round = 0; round < MAX_BOUND_PER_CID; round++) {
      if (!await this.#endOldestBinding(cid, toEnd, departure)) return;
    }
  }

  /**
   * Whether it ended (or unbound) one: a later one may be bound to the cid too. `departure`: the
   * DISCONNECT, whose `client_left` line it writes for that session (#clientGone).
   */
  async #endOldestBinding(
    cid: number,
    toEnd: (bound: Session) => boolean,
    departure: ClientDeparture | undefined,
  ): Promise<boolean> {
    const { store, server } = this.#deps;
    const sessionId = await store.findSessionIdByCid(server, cid);
    if (sessionId === undefined) return false;
    return await this.#deps.admission.sessionLock.run(sessionId, async () => {
      // Read again under the lock: a reconnect may have moved the session to a new cid or to
      // another server.
      const session = await store.getSession(sessionId);
      if (
        !session || session.server !== server || session.cid !== cid || !toEnd(session)
      ) return false;
      const left = departure && leftOf(departure, session);
      const gone = await this.#clientGone(session, left);
      if (gone && left !== undefined) this.#tunnels.sessionLeftAudited(departure!);
      return gone;
    });
  }

  /**
   * The client of a session read under its lock has gone: a resumable session is unbound (its
   * client may come back with its token), any other ends. Whether it was unbound or ended.
   * `left`: what its DISCONNECT told, for the `client_left` audit line; written once the store
   * took the change, so that a DISCONNECT tried again (disconnect_retries.ts) writes it once.
   */
  async #clientGone(session: Session, left?: AuditDetails): Promise<boolean> {
    if (session.resumable) {
      // Ended meanwhile elsewhere: nothing to unbind.
      const unbound = await this.#deps.store.updateSession({
        ...session,
        cid: undefined,
        openvpnRun: undefined,
      });
      if (unbound && left) auditSessionLeft(session, left);
      return unbound;
    }
    // The client is not known to present an OpenVPN token (login_session.ts), so it cannot come
    // back without a browser: the session is over, and so is our right to its refresh token.
    await this.#deps.admission.endSession(session, "disconnected");
    if (left) auditSessionLeft(session, left);
    return true;
  }

  /**
   * Ends (unbinds) one session bound to `cid` in an earlier run of OpenVPN, `run`: its client
   * went with that run, and the cid names another client now, or nobody. Left alone when an
   * event since `before` bound it anew.
   */
  async #endEarlierRunBinding(
    sessionId: string,
    cid: number,
    run: string,
    before: number,
  ): Promise<boolean> {
    const { store, server } = this.#deps;
    return await this.#deps.admission.sessionLock.run(sessionId, async () => {
      const session = await store.getSession(sessionId);
      if (
        !session || session.server !== server || session.cid !== cid ||
        session.openvpnRun !== run || session.lastAuthAt >= before
      ) return false;
      return await this.#clientGone(session);
    });
  }

  /**
   * After (re)connecting to the management interface, and after OpenVPN restarted in place:
   * sessions whose client is gone end as at a DISCONNECT (resumable ones are unbound), unless an
   * event since `linkUpAt` bound them anew. Gone is a client bound in another run of OpenVPN
   * than the one the link told (Session.openvpnRun), whatever cid the list holds: a restarted
   * OpenVPN numbers its clients from 0 again, so that cid may name another client now. A
   * binding without a run (stored by an older version, or while OpenVPN did not tell its run)
   * is gone when its cid is not in OpenVPN's client list, `liveCids`; undefined when the list
   * could not be read whole: such bindings are left as they are. A binding that fails does not
   * keep the others from ending: rejects at the end with an AggregateError of every failure,
   * and the caller tries the whole again (those ended are no longer listed).
   */
  async forgetClientsExcept(
    liveCids: ReadonlySet<number> | undefined,
    linkUpAt: number,
  ): Promise<void> {
    const { store, server, log } = this.#deps;
    const run = this.#signIns.run;
    const current = isKnownRun(run) ? run : undefined;
    let earlierRuns = 0;
    let gone = 0;
    const failures: unknown[] = [];
    // Their DISCONNECTs came while the link was down: when they left is not known (README).
    if (liveCids !== undefined) this.#tunnels.keepOnly(liveCids);
    for (const binding of await store.listBindings(server)) {
      // Pending logins are not touched here: those of an earlier run of OpenVPN were ended
      // when the link told its run (openvpnRunIs), and a login started since the link came up
      // belongs to a new client on a reused cid.
      const { sessionId, cid, openvpnRun } = binding;
      try {
        if (current !== undefined && openvpnRun !== undefined && openvpnRun !== current) {
          gone++;
          // That session alone: another one may be bound to the same cid in this run.
          if (await this.#endEarlierRunBinding(sessionId, cid, openvpnRun, linkUpAt)) {
            earlierRuns++;
          }
        } else if (liveCids !== undefined && !liveCids.has(cid)) {
          gone++;
          await this.#endBinding(cid, (bound) => bound.lastAuthAt < linkUpAt);
        }
      } catch (error) {
        failures.push(error);
      }
    }
    if (earlierRuns > 0) {
      log.info(
        "Ended or unbound {count} session(s) bound to clients of an earlier run of OpenVPN on " +
          "{server}: their client numbers now name other clients, or none",
        { server, count: earlierRuns },
      );
    }
    if (failures.length > 0) {
      throw new AggregateError(
        failures,
        `Could not end ${failures.length} of ${gone} binding(s) of clients that are gone: ` +
          String(failures[0]),
      );
    }
  }

  /** `run`: the run of OpenVPN the event came in (SignIns.run then). */
  async #decideAndAnswer(
    req: EnvClientRequest,
    commander: AnswersInRun,
    sameRun: () => boolean,
    run: string | undefined,
  ): Promise<void> {
    const { store, config, clock } = this.#deps;
    let session: Session | undefined;
    try {
      session = req.sessionId && readsSession(req, config.bypassCommonNames)
        ? await store.getSession(req.sessionId)
        : undefined;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return await this.#answerWithoutStore(req, error, commander, run);
    }
    const decision = decide(req, session, {
      bypassCommonNames: config.bypassCommonNames,
      reauthCheck: config.sessions.reauthCheck,
      now: clock.now(),
      serverSignsIn: this.#serverSignsIn,
    });
    await this.#answer(req, decision, session, commander, sameRun, run);
  }

  /** Carries out the decision table's answer to a CONNECT or REAUTH. */
  async #answer(
    req: EnvClientRequest,
    decision: Decision,
    session: Session | undefined,
    commander: AnswersInRun,
    sameRun: () => boolean,
    run: string | undefined,
  ): Promise<void> {
    switch (decision.action) {
      case "bypass":
        return await this.#admitBypassed(req, commander, run);
      case "deny":
        // Its client's token is refused for good (decide.ts): nobody can resume the session.
        // Under the session's lock: a REAUTH names a session_id (onRequest).
        if (decision.ends !== undefined) {
          await this.#deps.admission.endSession(decision.ends, "token-refused");
        }
        // An Invalid token's session_id may be the client's choice (CVE-2026-13122): it names
        // nobody in the audit line, unless the session is the one bound to this very client.
        await this.#deps.admission.deny(commander, req, decision.denial, {
          presented: decision.ends ?? (sessionIdUnverified(req) ? undefined : session),
        });
        return;
      case "start_login":
        try {
          await this.#startLogin(req, commander, sameRun);
        } catch (error) {
          // A new client's CONNECT reads nothing first (readsSession): its first store call,
          // the pending login's write, is where an unreachable store shows, and a full one
          // (sessions.max_entries of pending logins): denied as unavailable, warned about once a
          // minute, not an internal error with an error line per CONNECT of a flood.
          if (error instanceof StoreFullError) {
            await this.#deps.admission.deny(commander, req, STORE_FULL, {
              presented: undefined,
              storeError: error,
            });
            return;
          }
          if (!(error instanceof StoreUnavailableError)) throw error;
          await this.#answerWithoutStore(req, error, commander, run);
        }
        return;
      case "resume": {
        const resumed = await this.#deps.admission.resume(req, decision.session, commander, {
          resumable: decision.session.resumable || canResume(req),
          refresh: decision.refresh,
          // A refresh or a store call may take seconds: OpenVPN may restart meanwhile and give
          // the cid and kid to a new client, to which the session must not be bound.
          sameRun,
          // The cid is bound in this run, and its tunnel named for it.
          run,
        });
        // Ended rather than resumed (its refresh token had expired at the IdP): the reconnect
        // is answered as a new client's.
        if (resumed === "ended") {
          await this.#answer(
            req,
            decideNewClient(req, this.#serverSignsIn),
            session,
            commander,
            sameRun,
            run,
          );
        }
        return;
      }
    }
  }

  /**
   * A common name on `bypass_common_names`: admitted with no sign-in. Its CONNECT is audited as
   * an admission (reason `bypass`), as a reconnect's is, and its tunnel named for its
   * `established` and `client_left` lines: no user, but when it came and left. Its REAUTHs are
   * not audited, as no session's are (only a refused one is). `run`: the run the event came in.
   */
  async #admitBypassed(
    req: EnvClientRequest,
    commander: ClientCommander,
    run: string | undefined,
  ): Promise<void> {
    this.#deps.log.info(
      "{request} on cid {cid} (certificate {commonName}) accepted: its certificate name is on " +
        "the bypass list",
      who(req),
    );
    await commander.authNt(req.cid, req.kid);
    this.#metrics.clientEvent(req.kind, "auth_nt");
    if (req.kind !== "connect") return;
    const subject = auditSubject(req);
    audit("admitted", subject, "bypass");
    this.clientAdmitted(req.cid, run, subject);
  }

  /**
   * The store cannot be reached: see decide_without_store.ts. `run`: the run the event came in.
   */
  async #answerWithoutStore(
    req: EnvClientRequest,
    error: StoreUnavailableError,
    commander: ClientCommander,
    run: string | undefined,
  ): Promise<void> {
    const { config, log, clock } = this.#deps;
    // Only a REAUTH is judged on what this process last saw (decide_without_store.ts).
    const known = req.kind === "reauth" && config.sessions.storeUnreachable === "allow"
      ? this.#deps.knownSessions?.get(req.sessionId)
      : undefined;
    const decision = decideWithoutStore(req, known, {
      bypassCommonNames: config.bypassCommonNames,
      now: clock.now(),
      serverSignsIn: this.#serverSignsIn,
    });
    if (decision.action === "bypass") return await this.#admitBypassed(req, commander, run);
    if (decision.action === "deny") {
      await this.#deps.admission.deny(commander, req, decision.denial, {
        presented: sessionIdUnverified(req) ? undefined : known,
        storeError: error,
      });
      return;
    }
    if (decision.action === "accept_known") {
      log.warning(
        "{request} of {username} (cid {cid}) accepted on what this bridge knows: session store " +
          "unreachable (store_unreachable = allow): {error}",
        {
          cid: req.cid,
          commonName: loggedCertificateName(req.commonName),
          kind: req.kind,
          request: requestWords(req.kind, true),
          error: error.message,
          username: decision.session.username,
        },
      );
    }
    await commander.authNt(req.cid, req.kid);
    this.#metrics.clientEvent(req.kind, "auth_nt");
  }

  /**
   * OpenVPN refused an answer sent apart from its event (answers_apart.ts), or the link went
   * before it replied: the client is denied by its ids, as when handling the event fails. Not
   * after a `client-auth-nt` OpenVPN refused (commander.ts, answerRefusal): that was the answer.
   * Nor after a `client-pending-auth` OpenVPN refused once its sign-in no longer waits: OpenVPN
   * words every refusal of it alike, and one for a client that left comes after that client's
   * DISCONNECT, which ended the sign-in (commander.ts).
   */
  #answerNotTaken(answer: AnswerApart, cid: number, kid: number, error: unknown): void {
    if (this.#closed) return;
    if (outcomeUnknown(error)) {
      this.#deps.log.warning(
        "OpenVPN did not confirm {answer} for cid {cid}; not denying, it may still take it: {error}",
        { answer, cid, error: String(error) },
      );
      return;
    }
    if (
      answer === "client-pending-auth" && answerRefusal(error) !== undefined &&
      !this.#signIns.waits(cid, kid)
    ) {
      // Nobody to deny: counted as any client that leaves mid sign-in, by its DISCONNECT.
      this.#deps.log.info(
        "OpenVPN refused {answer} for cid {cid}: {error}; the client had left, not denied",
        { answer, cid, error: String(error) },
      );
      return;
    }
    const refusal = answer === "client-auth-nt" ? answerRefusal(error) : undefined;
    if (refusal !== undefined) {
      if (refusal === "gone") {
        this.#deps.log.info(
          "OpenVPN refused {answer} for cid {cid}: {error}; the client (or that key) has gone",
          { answer, cid, error: String(error) },
        );
      } else {
        this.#deps.log.error(
          "OpenVPN refused {answer} for cid {cid}: {error}; not answered again",
          { answer, cid, error: String(error) },
        );
      }
      return;
    }
    this.#deps.log.warning("OpenVPN did not take {answer} for cid {cid}; denying: {error}", {
      answer,
      cid,
      error: String(error),
    });
    this.denyUnhandled(undefined, cid, kid, INTERNAL_ERROR).catch(() => {});
  }

  async #startLogin(
    req: EnvClientRequest,
    commander: ClientCommander,
    sameRun: () => boolean,
  ): Promise<void> {
    const { store, config, clock, server, log } = this.#deps;
    // Begun in the run the event came in, or not at all.
    if (!sameRun()) throw new OpenvpnRestartedError();
    const createdAt = clock.now();
    const login: PendingLogin = {
      id: this.#deps.newLoginId(),
      server,
      cid: req.cid,
      kid: req.kid,
      commonName: req.commonName,
      username: req.username,
      clientIp: req.clientIp,
      clientPort: req.clientPort,
      platform: shownPlatform(req.ivPlat),
      clientVersion: shownClientVersion(req.ivVer),
      sessionId: req.sessionId,
      createdAt,
      expiresAt: createdAt + config.authPendingTimeoutMs,
      oauth: undefined,
      // Its session had ended (revoked, logged out, expired): the one this sign-in creates is
      // resumable all the same, as the client uses tokens (login_session.ts).
      ...(presentsToken(req) ? { presentedToken: true } : {}),
      ...(versionPresentsIssuedToken(req.ivVer) ? { presentsIssuedToken: true } : {}),
      ...(sessionIdUnverified(req) ? { sessionIdUnverified: true } : {}),
      ...(this.#signIns.run === undefined ? {} : { openvpnRun: this.#signIns.run }),
    };
    await this.#endEarlierSignIn(req.cid);
    // Checked in the turn it is tracked in, so that CONNECTs handled together cannot all pass.
    if (!this.#signIns.hasRoomFrom(req.clientIp)) {
      await this.#deps.admission.deny(commander, req, TOO_MANY_SIGN_INS, {
        presented: undefined,
        flood: this.#tooManySignInsWarning,
      });
      return;
    }
    // Tracked before it is stored: the client's DISCONNECT, or a new run, handled while the
    // store answers (a Redis round trip) then ends it, as it ends any sign-in. Tracked after, a
    // client that had left was sent client-pending-auth and, refused, denied as an internal error.
    this.#signIns.track({
      id: login.id,
      cid: login.cid,
      kid: login.kid,
      createdAt: login.createdAt,
      expiresAt: login.expiresAt,
      commonName: login.commonName,
      clientIp: login.clientIp,
      run: login.openvpnRun,
    });
    try {
      await store.putPending(login);
    } catch (error) {
      if (this.#signIns.waits(login.cid, login.kid)) this.#signIns.endOn(login.cid);
      throw error;
    }
    if (!sameRun() || !this.#signIns.waits(login.cid, login.kid)) {
      // Ended while it was stored: its client left, or OpenVPN restarted (so its deadline does
      // not deny the client that has the cid now). Nobody to send the login link to.
      if (this.#signIns.waits(login.cid, login.kid)) this.#signIns.endOn(login.cid);
      await store.deletePending(login.id);
      if (!sameRun()) throw new OpenvpnRestartedError();
      log.info(
        "CONNECT on cid {cid} (certificate {commonName}): the client left before its sign-in began",
        {
          commonName: loggedCertificateName(req.commonName),
          cid: req.cid,
        },
      );
      return;
    }
    log.info(
      "CONNECT on cid {cid} (certificate {commonName}) from {clientIp}: waiting for browser sign-in",
      {
        commonName: loggedCertificateName(req.commonName),
        cid: req.cid,
        clientIp: login.clientIp,
      },
    );
    await commander.pendingAuth(
      req.cid,
      req.kid,
      loginUrl(config.baseUrl, login.id),
      this.#pendingTimeoutSec(),
    );
    this.#metrics.clientEvent(req.kind, "pending");
  }
}

/**
 * The message a kill is held with: as given, or KILL_MESSAGE when the command module refuses it
 * (control characters, longer than OpenVPN takes). Such a kill is never sent as it is, and the
 * client must go all the same; and what is held stays small, at most 256 bytes a kill (a
 * cluster's work item, read from the store, can carry any text).
 */
function heldKillMessage(message: string): string {
  try {
    clientKill(0, message);
    return message;
  } catch {
    return KILL_MESSAGE;
  }
}

/**
 * Whether the client can come back without a browser: it presented OpenVPN's token, or it
 * authenticates with a user name (and so will present the token that auth-gen-token gives it).
 * A certificate-only client does neither before it presents its first token; a 2.6 or OpenVPN 3
 * one is resumable from sign-in on all the same (login_session.ts), as it will present it.
 */
export function canResume(req: Pick<ClientRequest, "sessionState" | "username">): boolean {
  return presentsToken(req) || req.username !== "";
}

/**
 * What the bypass line names. Built only there: a REAUTH that resumes (nearly all of
 * them) logs nothing here, and an object per event for nothing showed in the B1 profile.
 */
function who(req: EnvClientRequest) {
  return {
    cid: req.cid,
    kid: req.kid,
    commonName: loggedCertificateName(req.commonName),
    kind: req.kind,
    request: requestWords(req.kind, false),
  };
}
