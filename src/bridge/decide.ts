/**
 * What to do with a client's CONNECT or REAUTH: the decision table of the README, as one pure
 * function. Time and the stored session are inputs; commands are built elsewhere.
 *
 * Why these rules (measured against a real OpenVPN 2.6 server and client):
 * - A client that presents no auth token says `session_state=Initial` at every REAUTH: a
 *   certificate-only client of a version that cannot present one (2.4, 2.5 before 2.5.3; later
 *   ones present the token the bridge has OpenVPN issue it with `auth-token-user`:
 *   client_version.ts). We accept it when the cid and `session_id` match the session we created
 *   for that cid. The cid is bound to the TLS connection, which OpenVPN verified.
 * - `Authenticated`/`AuthenticatedEmptyUser` mean OpenVPN checked the HMAC of the token it
 *   issued (`auth-gen-token ... external-auth`), so on CONNECT a valid session with that
 *   `session_id` is a reconnect and can be resumed without a browser, also on another server:
 *   a server accepts only tokens made with its own `auth-gen-token-secret`, so a token valid
 *   there means the servers share that secret on purpose.
 * - A REAUTH is a renegotiation of one live client: its session must be bound to this server
 *   and this cid (cids are numbered per server, so the same cid on two servers is two clients).
 * - `Expired`/`Invalid`/`ExpiredEmptyUser` are never accepted, and the session bound to that
 *   very client (this server, this cid) ends with the refusal: OpenVPN never takes that token
 *   again (it keeps a token's first timestamp per session id, so an expired one stays expired),
 *   and a session nobody can resume held a place in `sessions.max_per_user` and an unrevoked
 *   refresh token until its lifetime ran out. A session the `session_id` names but another
 *   client holds is left alone: an `Invalid` token's id may be the client's choice
 *   (CVE-2026-13122).
 * - REAUTH is never answered with a pending login: a 2.6 server then stalls the tunnel ~15 s.
 */
import type { Session } from "../sessions/types.ts";
import { isBypassed } from "./bypass_patterns.ts";
import { versionPredatesBrowserSignIn } from "./client_version.ts";
import {
  CLIENT_TOO_OLD,
  type Denial,
  NO_WEBAUTH,
  SERVER_TOO_OLD,
  SESSION_EXPIRED,
  TOKEN_REFUSED,
  TOKEN_REJECTED,
  UNKNOWN_SESSION,
} from "./denial.ts";

export interface ClientRequest {
  kind: "connect" | "reauth";
  /** The OpenVPN server the client is on. */
  server: string;
  cid: number;
  kid: number;
  /** The name of the client's certificate; empty when it presented none (certificate_name.ts). */
  commonName: string;
  username: string;
  sessionId: string;
  sessionState: string;
  /** The client's `IV_SSO` capability list, e.g. `openurl,webauth,crtext`. */
  ivSso: string;
  /** The client's `IV_VER` as sent, e.g. `2.6.14` (empty when it sent none). */
  ivVer: string;
}

export type Decision =
  | { action: "bypass" }
  /** `ends`: the session of the refused client, to end with the refusal (a refused token). */
  | { action: "deny"; denial: Denial; ends?: Session }
  | { action: "start_login" }
  | { action: "resume"; session: Session; refresh: boolean };

export interface DecideOptions {
  bypassCommonNames: readonly RegExp[];
  reauthCheck: "none" | "refresh";
  now: number;
  /**
   * The OpenVPN server can hold a client while its user signs in in the browser (its management
   * version, openvpn_version.ts). False for 2.4 and older: a new client is stopped with the reason.
   */
  serverSignsIn: boolean;
}

const TOKEN_STATES = new Set(["Authenticated", "AuthenticatedEmptyUser"]);
const REAUTH_STATES = new Set(["Initial", ...TOKEN_STATES]);

/** `webauth` as one item of the comma-separated IV_SSO list (items trimmed). */
const WEBAUTH = /(?:^|,)\s*webauth\s*(?:,|$)/;

/**
 * Whether `decide` looks at the stored session for this request: a REAUTH always, a CONNECT only
 * when it presents OpenVPN's token, neither for a bypassed common name. A new client's CONNECT
 * need not read the store at all.
 */
export function readsSession(
  request: Pick<ClientRequest, "kind" | "sessionState" | "commonName">,
  bypassCommonNames: readonly RegExp[],
): boolean {
  return (request.kind === "reauth" || presentsToken(request)) &&
    !isBypassed(request.commonName, bypassCommonNames);
}

/**
 * Whether the client presented OpenVPN's token, whose HMAC OpenVPN checked: `Authenticated` or
 * `AuthenticatedEmptyUser`.
 */
export function presentsToken(request: Pick<ClientRequest, "sessionState">): boolean {
  return TOKEN_STATES.has(request.sessionState);
}

/**
 * `session_state` values whose `session_id` is OpenVPN's own: a new one (`Initial`), or the one in
 * a token whose HMAC OpenVPN checked (`Authenticated`, `Expired` and their `EmptyUser` forms).
 */
const OPENVPNS_SESSION_ID_STATES = new Set([
  "Initial",
  ...TOKEN_STATES,
  "Expired",
  "ExpiredEmptyUser",
]);

/**
 * Whether the `session_id` that came with the request's `session_state` may be the client's
 * choice, and so names nobody by itself: an `Invalid` token's (OpenVPN before 2.6.21 and 2.7.5
 * took it from the token it refused, CVE-2026-13122), and that of a state OpenVPN 2.6 does not
 * send, which says nothing of who chose it.
 */
export function sessionIdUnverified(request: Pick<ClientRequest, "sessionState">): boolean {
  return !OPENVPNS_SESSION_ID_STATES.has(request.sessionState);
}

export function decide(
  request: ClientRequest,
  session: Session | undefined,
  options: DecideOptions,
): Decision {
  if (isBypassed(request.commonName, options.bypassCommonNames)) return { action: "bypass" };
  const refresh = options.reauthCheck === "refresh";
  const usable = session !== undefined && session.commonName === request.commonName;
  if (request.kind === "reauth") {
    // The live client this REAUTH renegotiates: cids are numbered per server.
    const bound = usable && session.server === request.server && session.cid === request.cid;
    if (!REAUTH_STATES.has(request.sessionState)) {
      const refused = TOKEN_REFUSED.get(request.sessionState);
      if (refused === undefined) return deny(TOKEN_REJECTED);
      return bound ? { action: "deny", denial: refused, ends: session } : deny(refused);
    }
    if (!bound) return deny(UNKNOWN_SESSION);
    if (session.expiresAt <= options.now) return deny(SESSION_EXPIRED);
    return { action: "resume", session, refresh };
  }
  if (TOKEN_STATES.has(request.sessionState) && usable && session.expiresAt > options.now) {
    return { action: "resume", session, refresh };
  }
  return decideNewClient(request, options.serverSignsIn);
}

/**
 * A CONNECT with no session to resume: a browser sign-in, when the client can do one. Also a
 * reconnect whose session the admission step ended rather than resume (admission.ts). A client
 * that cannot is told what would help: `setenv IV_SSO webauth`, or for one too old to send
 * `IV_SSO` at all, an update. On a server that cannot hold a client for the sign-in
 * (`serverSignsIn` false) no client can: that comes first, as no change to the client helps.
 */
export function decideNewClient(
  request: Pick<ClientRequest, "ivSso" | "ivVer">,
  serverSignsIn: boolean,
): Decision {
  if (!serverSignsIn) return deny(SERVER_TOO_OLD);
  if (WEBAUTH.test(request.ivSso)) return { action: "start_login" };
  return deny(versionPredatesBrowserSignIn(request.ivVer) ? CLIENT_TOO_OLD : NO_WEBAUTH);
}

function deny(denial: Denial): Decision {
  return { action: "deny", denial };
}
