/**
 * What the admission step (admission.ts) takes and answers: its settings and collaborators,
 * the OpenVPN side of a request, and the outcomes of a login and of a re-check.
 */
import type { Logger } from "@logtape/logtape";
import type { AuditSubject } from "../audit.ts";
import type { Metrics } from "../metrics/port.ts";
import type { OidcClient } from "../oidc/client.ts";
import type { Session, SessionStore } from "../sessions/types.ts";
import type { SignInRef } from "./commander.ts";
import type { Denial } from "./denial.ts";
import type { PolicyConfig } from "./identity_policy.ts";
import type { KeyedLock } from "./keyed_lock.ts";
import type { SessionEnd } from "./session_end.ts";
import type { LimitEndReason, SessionLimit } from "./session_limit.ts";
import type { UnstoredRefreshTokens } from "./unstored_refresh_tokens.ts";
import type { UsernamePolicy } from "./username_policy.ts";
import type { IdpUnreachableSetting } from "./refresh_outage.ts";

export interface AdmissionConfig {
  /**
   * The policy of an OpenVPN server (one bridge may serve several), read at each decision: a
   * reload's policy applies to the next one. Undefined for a server the bridge does not know.
   */
  policy: (server: string) => PolicyConfig | undefined;
  usernamePolicy: (server: string) => UsernamePolicy;
  sessionLifetimeMs: number;
  idpUnreachable: IdpUnreachableSetting;
  /**
   * `sessions.recheck_interval`, when set: sessions are re-checked at the IdP, so one whose
   * refresh token has expired there is not resumed on its stored claims (refresh_expiry.ts).
   */
  recheckIntervalMs: number | undefined;
  /**
   * `sessions.reauth_check`. Read only to warn about sign-ins that bring no refresh token to
   * re-check with: whether a REAUTH or CONNECT refreshes is the caller's (`resume`'s `refresh`).
   */
  reauthCheck: "none" | "refresh";
}

export interface AdmissionDeps {
  store: SessionStore;
  oidc: Pick<OidcClient, "refresh">;
  /** Ends sessions (delete, kill, audit, revoke the refresh token). */
  sessionEnd: Pick<SessionEnd, "endHeld" | "disconnect" | "revokeToken">;
  config: AdmissionConfig;
  now: () => number;
  log: Logger;
  /** Shared with whatever else changes sessions (SessionEnd's). */
  sessionLock: KeyedLock;
  /**
   * Rotated refresh tokens the store could not take. The same object as SessionEnd's
   * (SessionEndDeps.unstoredRefreshTokens), so that a session ended there, read from the store
   * with the dead token, has the live one revoked.
   */
  unstoredRefreshTokens: UnstoredRefreshTokens;
  /** Counting; nothing counted when left out. */
  metrics?: Metrics;
  /** `sessions.max_per_user`; `end` ends the sessions named, for `reason` (SessionEnd.endAll). */
  sessionLimit?: SessionLimit & {
    end: (sessionIds: string[], reason: LimitEndReason) => Promise<unknown>;
  };
}

/** The OpenVPN side of an admission: who asks, from where, and what they sent. */
export interface ClientSide {
  kind: "login" | "connect" | "reauth";
  server: string;
  cid: number;
  kid: number;
  commonName: string;
  clientIp: string;
  /**
   * The username the VPN client sent (empty for certificate-only clients); undefined when no
   * client is asking (the periodic re-check: the name was checked when the client connected).
   */
  username: string | undefined;
  /** For a browser sign-in: which one, so that its answer goes only to its own client. */
  signIn?: SignInRef;
  /** For a browser sign-in: the browser's address at the callback (its audit line). */
  browserIp?: string;
}

/**
 * What `Admission.resume` did: answered the client (or, after OpenVPN restarted, rightly
 * nothing), or ended the session instead of resuming it (its refresh token had expired at the
 * IdP), leaving a CONNECT to be answered as a new client's.
 */
export type Resumption = "answered" | "ended";

export type LoginAdmission =
  | { kind: "admitted"; username: string }
  | { kind: "denied"; denial: Denial }
  | { kind: "client-gone" }
  /**
   * Not confirmed: handed to the instance holding OpenVPN's link (`[cluster]`), which did not
   * answer in time; written with no answer; or held for a link that is down (HeldSignInAnswer),
   * to be written when it is back.
   */
  | { kind: "no-answer" };

/**
 * The answer to a finished browser sign-in (`client-auth`, or a callback's refusal) that
 * the link did not write because it was down. The server's link (ClientEvents) holds it and
 * calls `send` when it tells the sign-in's run again, or `drop` when the sign-in ends first:
 * nothing else would ever answer that client, and OpenVPN keeps a pending client waiting across
 * a management reconnect.
 */
export interface HeldSignInAnswer {
  /** A refusal's is `client-kill` when it halts the client (refusal.ts). */
  readonly command: "client-auth" | "client-deny" | "client-kill";
  readonly cid: number;
  readonly signIn: SignInRef;
  /**
   * Writes it (through the sign-in guard, which checks the run and the cid again), then logs,
   * counts and audits it; the link down again, it is held again.
   */
  send(): Promise<unknown>;
  /**
   * Not written, and never will be: `why`. A `client-auth`'s session ends (deleted, its grant
   * given back). The sign-in is counted all the same, a `client-auth` as failed (`error`: nobody
   * was admitted, so no audit line), a refusal with its reason and its audit line (the user was
   * refused), as when OpenVPN refuses the answer; but not when the sign-in `timedOut`: its client
   * is refused as timed out then, which counts it. Does not reject.
   */
  drop(why: string, ending?: { timedOut: true }): Promise<void>;
}

/**
 * Where a server's link holds what it could not write, and learns whom the bridge let in
 * (ClientEvents).
 */
export interface SignInAnswerHolder {
  /**
   * Whether it is held: not when the link is stopping, the sign-in's run is one OpenVPN did not
   * tell (no link-up can tell it again), or the sign-in no longer waits (its client left, its
   * deadline passed, another began on the cid, OpenVPN restarted).
   */
  holdSignInAnswer(answer: HeldSignInAnswer): boolean;
  /**
   * A callback of this process is about to take sign-in `loginId` on `cid` from the store: its
   * deadline, finding the login gone, leaves it to that callback. Returns the undo.
   */
  signInTaking(cid: number, loginId: string): () => void;
  /**
   * The bridge let `who` in on `cid` (a sign-in's `client-auth`, a reconnect's), its answer
   * written in OpenVPN's run `run`: its tunnel's audit lines name them.
   */
  clientAdmitted(cid: number, run: string | undefined, who: AuditSubject): void;
  /**
   * A client came back with its token on a new cid while its session was bound to `cid` in
   * OpenVPN's run `run`: the old tunnel on `cid` was `who`'s, for its DISCONNECT's line.
   */
  sessionMovedOff(cid: number, run: string | undefined, who: AuditSubject): void;
}

/**
 * A re-checked session. Admitted: the session as stored now (rotated refresh token, fresh
 * claims). Denied: the session has ended (deleted, its newest refresh token revoked), unless
 * the IdP could not be asked and the denial only fails closed for now. `idpUnreachable`: the
 * IdP could not be asked, and this setting of `sessions.idp_unreachable` decided (the outage
 * is told once, by refresh_outage.ts: each client's own line is its decision's).
 */
export type Recheck =
  & (
    | { admit: true; session: Session; lines: readonly string[]; refreshed: boolean }
    | { admit: false; denial: Denial; session: Session }
  )
  & { idpUnreachable?: IdpUnreachableSetting };
