/**
 * The audit lines of one OpenVPN server's tunnels (audit.ts): `established` at a client's
 * ESTABLISHED, `client_left` at its DISCONNECT, and who each tunnel is, by cid, for them. Apart
 * from the events' answers (client_events.ts): these lines decide nothing, and are written
 * whatever became of the client's session.
 *
 * Who a tunnel is comes from the bridge's admission of its client, which is when it knows, so
 * that an ESTABLISHED costs no store read: after an OpenVPN restart with auth-gen-token, every
 * client reconnects with its token at once, and each ESTABLISHED read its session back from the
 * store (a Redis round trip each).
 */
import type { Logger } from "@logtape/logtape";
import { audit, type AuditDetails, type AuditSubject, auditSubject } from "../audit.ts";
import type { ClientEnv } from "../management/events.ts";
import type { Session, SessionStore } from "../sessions/types.ts";
import { isBypassed } from "./bypass_patterns.ts";
import { certificateName } from "./certificate_name.ts";
import { sessionIdUnverified } from "./decide.ts";
import type { RunDeparture } from "./runs_told.ts";
import { clientAddress, establishedDetails, leftDetails } from "./tunnel_details.ts";

/**
 * Tunnels named at most, the oldest dropped first: more than a server has clients, and few
 * enough to keep (a few hundred bytes each).
 */
export const MAX_TUNNELS = 65_536;

/**
 * Departures nothing named whose `client_left` line is not written, kept for a late `adopt`
 * (TunnelAudit), the oldest dropped first. By count rather than age (a minute): memory stays fixed
 * whatever the churn of clients, and no clock is needed. One waits only while a token CONNECT is
 * resumed (a store write, a refresh at the IdP: seconds), in which a server sees far fewer
 * DISCONNECTs unless many of its clients drop at once; then some such line may be lost (an audit
 * line: it decides nothing).
 */
export const MAX_UNNAMED_DEPARTURES = 1_024;

export interface TunnelAuditDeps {
  /** Name of the OpenVPN server the tunnels are on. */
  server: string;
  /** Read only for a client this bridge did not admit (TunnelAudit.established). */
  store: Pick<SessionStore, "findSessionIdByCid" | "getSession">;
  /** `openvpn.bypass_common_names`, as a reload leaves them. */
  bypassCommonNames: () => readonly RegExp[];
  /** `openvpn.auth_pending_timeout`: how long after its CONNECT a client's sign-in may end. */
  authPendingTimeoutMs: () => number;
  log: Logger;
}

/**
 * A DISCONNECT, with what it told of the tunnel when its ENV told any (leftDetails), who
 * its tunnel was (TunnelAudit), and whether its `client_left` line was written (so that a
 * DISCONNECT tried again writes it once). `unnamed`: where the client was and the session_id
 * OpenVPN gave it (none when the client may have chosen it: ownSessionId), as its ENV told them,
 * when nothing named the tunnel (TunnelAudit.nameMoved).
 */
export type ClientDeparture = RunDeparture & {
  left: AuditDetails | undefined;
  tunnel: AuditSubject | undefined;
  leftAudited: boolean;
  unnamed?: { where: TunnelWhere; sessionId: string | undefined };
};

/** Where a client is, as its event's ENV tells: for an audit line (TunnelAudit). */
type TunnelWhere = { server: string; cid: number; commonName: string; clientIp: string };

/**
 * Who each tunnel of the run the link told is, by cid: named when the bridge admits its client
 * (`admitted`), as its `established` line named them, and when its session moves to a new cid
 * (`adopt`); what its DISCONNECT's `client_left` line names when no session is bound to the cid
 * any more. A client that reconnects with its token (SIGUSR1, a network change) gets a new cid,
 * to which its session is bound at that CONNECT, before the old cid's DISCONNECT comes. Within a
 * run a cid names one client, from its CONNECT to its DISCONNECT: kept in memory only (nothing
 * written), and only for the run the link told last; forgotten at the DISCONNECT, and all when
 * another run begins (their clients went with their run; the cids name others now).
 */
export class TunnelAudit {
  readonly #deps: TunnelAuditDeps;
  readonly #byCid = new Map<number, AuditSubject>();
  /**
   * This run's departures that nothing named, whose DISCONNECT told how long and how much, and
   * whose `client_left` line is not written, by cid (MAX_UNNAMED_DEPARTURES): one whose session a
   * token CONNECT is still moving off, after a bridge restart, is named by that move's `adopt`
   * when it comes. One whose line was written (for the session it ended) waits for nothing, and
   * is dropped (sessionLeftAudited) rather than take the place of one that waits.
   */
  readonly #unnamedDepartures = new Map<number, ClientDeparture>();
  #run: string | undefined;

  constructor(deps: TunnelAuditDeps) {
    this.#deps = deps;
  }

  /** The link told OpenVPN's run: a run other than the last one forgets every tunnel. */
  runIs(run: string | undefined): void {
    if (run === this.#run) return;
    this.#run = run;
    this.#byCid.clear();
    this.#unnamedDepartures.clear();
  }

  /**
   * The bridge admitted `who` on `cid`, in OpenVPN's run `run` (the one its answer was written
   * in): its tunnel is theirs until its DISCONNECT. The browser's address of a sign-in is not
   * the tunnel's, and is left out.
   */
  admitted(cid: number, run: string | undefined, who: AuditSubject): void {
    if (run !== this.#run) return;
    this.#name(cid, who.browserIp === undefined ? who : { ...who, browserIp: undefined });
  }

  /**
   * The session bound to `cid` in OpenVPN's run `run` moved to a new cid (its client came back
   * with its token before the old tunnel's DISCONNECT): the tunnel on `cid` was `who`'s. Named
   * only when nothing named it: this process did not admit it (it restarted since, or a cluster
   * peer did), so without this its DISCONNECT, finding no session bound to it, had no line. That
   * DISCONNECT may have come already, while the session was being moved (its store write, a
   * refresh at the IdP): its `client_left` line is written now, naming `who`, and the cid, gone,
   * is not named. The same when the session ended and its client is being killed
   * (ClientEvents.sessionKilled): the DISCONNECT the kill brings finds no session either.
   */
  adopt(cid: number, run: string | undefined, who: AuditSubject): void {
    if (run !== this.#run) return;
    const departure = this.#unnamedDepartures.get(cid);
    if (departure !== undefined) {
      this.#unnamedDepartures.delete(cid);
      departure.tunnel = who;
      auditTunnelLeft(departure);
      return;
    }
    if (!this.#byCid.has(cid)) this.#name(cid, who);
  }

  /**
   * A client's tunnel is up (ESTABLISHED): its audit line records the VPN address OpenVPN gave
   * it, so that an address seen in traffic leads to a user. Who that is the bridge knows from
   * admitting the client, with no store call. Where it does not (this bridge did not admit it:
   * it restarted since, or in a cluster another instance answered the sign-in), it comes from
   * the session bound to the client, read from the store (nothing written): by its `session_id`
   * when OpenVPN sent one (auth-gen-token), else by its cid. A store that cannot answer leaves
   * the user out; the line is written all the same.
   */
  async established(cid: number, env: ClientEnv): Promise<void> {
    const { log } = this.#deps;
    const where = this.#where(cid, env);
    const { commonName } = where;
    const details = establishedDetails(env);
    let who: AuditSubject | Session | undefined = this.#named(cid, commonName);
    // A bypassed common name has no session to look for.
    const bypassed = who === undefined && this.#bypassed(commonName);
    if (who === undefined && !bypassed) {
      who = await this.#boundSession(cid, commonName, env.get("session_id")).catch((error) => {
        log.debug("ESTABLISHED of cid {cid}: no user for its audit line: {error}", {
          cid,
          error: String(error),
        });
        return undefined;
      });
    }
    const subject = auditSubject(where, who);
    audit("established", subject, undefined, details);
    // Only a client with a session, or a bypassed one, has a client_left line (README).
    if (who !== undefined || bypassed) this.#name(cid, subject);
  }

  /**
   * The client on `cid` left (DISCONNECT, with its ENV when it came with one): its departure,
   * with who its tunnel was, forgotten here. A bypassed client nothing named (connected before
   * this process started: a tunnel that stays up sends no ESTABLISHED again) is named from the
   * DISCONNECT's ENV, as its `established` line was: it has no session to name it. One still
   * unnamed is kept for a late `adopt`.
   */
  departed(
    cid: number,
    env: ClientEnv | undefined,
    at: number,
    run: RunDeparture["run"],
  ): ClientDeparture {
    let tunnel = this.#byCid.get(cid);
    this.#byCid.delete(cid);
    let unnamed: ClientDeparture["unnamed"];
    if (tunnel === undefined && env !== undefined) {
      const where = this.#where(cid, env);
      if (this.#bypassed(where.commonName)) tunnel = auditSubject(where);
      else unnamed = { where, sessionId: ownSessionId(env) };
    }
    const departure: ClientDeparture = {
      cid,
      at,
      run,
      left: env && leftDetails(env),
      tunnel,
      leftAudited: false,
    };
    if (unnamed !== undefined) departure.unnamed = unnamed;
    if (tunnel === undefined && departure.left !== undefined && run.run === this.#run) {
      keepNewest(this.#unnamedDepartures, cid, departure, MAX_UNNAMED_DEPARTURES);
    }
    return departure;
  }

  /**
   * Names the tunnel of a departure nothing named, whose DISCONNECT found no session bound to its
   * cid (client_events.ts), from the session its ENV's `session_id` names, under the same
   * certificate name on this server, when that session left the cid: moved to the same client's
   * new cid by a reconnect with its token (which carries the token's session_id), and maybe
   * unbound since, when that new tunnel left. Without this, a move made before this process
   * started (a bridge restart between a client's reconnect and its old tunnel's DISCONNECT, which
   * duplicate-cn or a keepalive timeout puts up to minutes later) left that DISCONNECT with no
   * `client_left` line: nothing named the cid, nor would.
   *
   * Only a tunnel that was let in: a refused client's DISCONNECT has an empty ENV (measured), no
   * `time_duration`. And only a session its tunnel can have been let in on: it began
   * `time_duration` before its DISCONNECT, and a sign-in ends within auth_pending_timeout of its
   * client's CONNECT. One created later is another sign-in's (the same device's token, whose
   * session had ended, signed in anew, maybe as another user). A session still bound to the cid
   * is being moved off it: that move names the tunnel (adopt). A `session_id` the client may
   * have chosen (an `Invalid` token's) names nobody. One store read, only for such a
   * departure; a store that cannot answer leaves it unnamed (an audit line: it decides nothing).
   */
  async nameMoved(departure: ClientDeparture): Promise<void> {
    const { unnamed, left } = departure;
    const duration = left?.durationSec;
    if (departure.tunnel !== undefined || duration === undefined || !unnamed?.sessionId) return;
    const { where, sessionId } = unnamed;
    const session = await this.#deps.store.getSession(sessionId).catch((error) => {
      this.#deps.log.debug("DISCONNECT of cid {cid}: no user for its audit line: {error}", {
        cid: departure.cid,
        error: String(error),
      });
      return undefined;
    });
    if (
      session === undefined || departure.tunnel !== undefined || session.server !== where.server ||
      session.commonName !== where.commonName || session.cid === departure.cid
    ) return;
    const latestAdmission = departure.at - duration * 1000 + this.#deps.authPendingTimeoutMs();
    if (session.createdAt > latestAdmission) return;
    departure.tunnel = auditSubject(where, session);
    if (this.#unnamedDepartures.get(departure.cid) === departure) {
      this.#unnamedDepartures.delete(departure.cid);
    }
  }

  /**
   * The `client_left` line of the session `departure` ended (or unbound) was written
   * (client_events.ts): its departure waits for no `adopt` any more.
   */
  sessionLeftAudited(departure: ClientDeparture): void {
    departure.leftAudited = true;
    // Only this one: a DISCONNECT tried again after OpenVPN restarted has a cid that another
    // client of the new run may have left on, whose departure may be waiting.
    const { cid } = departure;
    if (this.#unnamedDepartures.get(cid) === departure) this.#unnamedDepartures.delete(cid);
  }

  /**
   * Forgets the tunnels not in OpenVPN's client list `liveCids`: their DISCONNECTs came while the
   * link was down, and when they left is not known (README).
   */
  keepOnly(liveCids: ReadonlySet<number>): void {
    for (const cid of this.#byCid.keys()) if (!liveCids.has(cid)) this.#byCid.delete(cid);
  }

  /** Where the client at `cid` is, as its event's ENV tells: for an audit line. */
  #where(cid: number, env: ClientEnv): TunnelWhere {
    const { server } = this.#deps;
    return { server, cid, commonName: certificateName(env), clientIp: clientAddress(env) };
  }

  /** Whether `commonName` is on `bypass_common_names`, as a reload leaves them. */
  #bypassed(commonName: string): boolean {
    return isBypassed(commonName, this.#deps.bypassCommonNames());
  }

  #name(cid: number, who: AuditSubject): void {
    keepNewest(this.#byCid, cid, who, MAX_TUNNELS);
  }

  /**
   * Who the tunnel on `cid` is, when its name is one of a client with the certificate name
   * `commonName` (a client without a certificate has "").
   */
  #named(cid: number, commonName: string): AuditSubject | undefined {
    const who = this.#byCid.get(cid);
    return who?.commonName === commonName ? who : undefined;
  }

  /**
   * The session bound to the client at `cid`, found by its `session_id` or else by the cid. Only
   * a binding of the run the link told (or with no run recorded) and of the client's certificate
   * name is the client's: a binding from before OpenVPN restarted may outlive the restart while
   * the link-up clean-up runs (or waits on the store), and its cid names a new client now.
   */
  async #boundSession(
    cid: number,
    commonName: string,
    sessionId: string | undefined,
  ): Promise<Session | undefined> {
    const { store, server } = this.#deps;
    const id = sessionId || await store.findSessionIdByCid(server, cid);
    if (id === undefined) return undefined;
    const session = await store.getSession(id);
    if (session?.server !== server || session.cid !== cid) return undefined;
    const { openvpnRun } = session;
    if (openvpnRun !== undefined && openvpnRun !== this.#run) return undefined;
    return session.commonName === commonName ? session : undefined;
  }
}

/**
 * The ENV's `session_id` when its `session_state` says OpenVPN chose it (decide.ts): an `Invalid`
 * token's may be the client's (CVE-2026-13122), and names nobody.
 */
function ownSessionId(env: ClientEnv): string | undefined {
  const sessionState = env.get("session_state") ?? "";
  return sessionIdUnverified({ sessionState }) ? undefined : env.get("session_id");
}

/** Sets `cid` in `byCid` as its newest entry, dropping the oldest beyond `most`. */
function keepNewest<T>(byCid: Map<number, T>, cid: number, value: T, most: number): void {
  byCid.delete(cid);
  if (byCid.size >= most) byCid.delete(byCid.keys().next().value!);
  byCid.set(cid, value);
}

/**
 * What a DISCONNECT told of its tunnel, for the `client_left` line of a session it ends: only one
 * bound in the DISCONNECT's run (or with no run recorded) had that tunnel. A binding of an earlier
 * run, which outlived OpenVPN's restart, was another client's: its time and traffic are not these.
 */
export function leftOf(departure: ClientDeparture, bound: Session): AuditDetails | undefined {
  const { openvpnRun } = bound;
  return openvpnRun === undefined || openvpnRun === departure.run.run ? departure.left : undefined;
}

/** The `client_left` line of a session whose client left, `left` telling how long and how much. */
export function auditSessionLeft(session: Session, left: AuditDetails): void {
  audit("client_left", auditSubject(session, session), undefined, left);
}

/**
 * The `client_left` line of a departure no session's line was written for (the session had moved
 * to the client's new cid: a reconnect with its token; or a bypassed client, which has none): it
 * names who the tunnel was. Once, and only when the DISCONNECT told how long and how much.
 */
export function auditTunnelLeft(departure: ClientDeparture): void {
  const { left, tunnel } = departure;
  if (departure.leftAudited || left === undefined || tunnel === undefined) return;
  departure.leftAudited = true;
  audit("client_left", tunnel, undefined, left);
}
