/**
 * The session a finished browser login creates. Pure: the admission step decides whether there
 * is one, and stores it.
 */
import type { SignInRef } from "./commander.ts";
import type { LoginResult } from "../oidc/client.ts";
import type { Identity } from "../policy/identity.ts";
import type { Session } from "../sessions/types.ts";
import { isKnownRun } from "../management/openvpn_run.ts";
import { versionPresentsIssuedToken } from "./client_version.ts";

/** A finished browser login, as the OIDC client returned it, for this pending login. */
export interface FinishedLogin {
  client: {
    kind: "login";
    server: string;
    cid: number;
    kid: number;
    commonName: string;
    clientIp: string;
    /** The username the VPN client sent (empty for certificate-only clients). */
    username: string;
    /** The client's `IV_VER`, as the sign-in kept it (peer_info.ts); empty when unknown. */
    clientVersion: string;
    /** Whether the CONNECT that began the sign-in presented OpenVPN's token (PendingLogin). */
    presentedToken?: boolean;
    /** Whether the CONNECT's `IV_VER` names a client that presents its token (PendingLogin). */
    presentsIssuedToken?: boolean;
    /** Whether the client chose `session_id` with a token OpenVPN refused (PendingLogin). */
    sessionIdUnverified?: boolean;
    /** The sign-in, so that its answer goes only to the client it began with. */
    signIn: SignInRef;
    /** The browser's address at the callback, for the sign-in's audit line. */
    browserIp?: string;
  };
  sessionId: string;
  result: LoginResult;
}

/** The new session: who signed in (the IdP identity), through which client, for how long. */
export function sessionFromLogin(
  login: FinishedLogin,
  identity: Identity,
  claims: Record<string, unknown>,
  at: { now: number; lifetimeMs: number },
): Session {
  const { client, result } = login;
  // Without auth-gen-token OpenVPN sends no session_id (and with reneg-sec 0 it cannot use
  // one): the session is kept under an id of its own, bound to this client until it leaves,
  // so back-channel logout, the periodic re-check and the admin command still reach it.
  const ownId = login.sessionId === "";
  // The run the sign-in began in, the cid's: its answer goes to the client only in that run.
  const run = client.signIn.openvpnRun;
  return {
    sessionId: ownId ? clientBoundSessionId(client.server, client.cid, at.now) : login.sessionId,
    server: client.server,
    cid: client.cid,
    commonName: client.commonName,
    username: identity.username,
    groups: identity.groups,
    roles: identity.roles,
    claims,
    subject: result.subject,
    sid: result.sid,
    clientIp: client.clientIp,
    refreshToken: result.refreshToken,
    refreshExpiresAt: result.refreshExpiresAt,
    // Kept past a disconnect for a client that will present OpenVPN's token when it reconnects:
    // one that sent a user name, one whose CONNECT presented a token already, and a
    // certificate-only client known to present the token it is issued (a login stored before
    // that was recorded has only the version it shows).
    resumable: !ownId &&
      (client.username !== "" || client.presentedToken === true ||
        client.presentsIssuedToken === true || versionPresentsIssuedToken(client.clientVersion)),
    createdAt: at.now,
    lastAuthAt: at.now,
    expiresAt: at.now + at.lifetimeMs,
    ...(isKnownRun(run) ? { openvpnRun: run } : {}),
  };
}

/**
 * The id of a session OpenVPN gave no session_id for. Clients never present it (OpenVPN
 * fills session_id itself, only from its own token), so it cannot be resumed, only ended.
 */
function clientBoundSessionId(server: string, cid: number, at: number): string {
  return `client:${server}:${cid}:${at.toString(36)}`;
}
