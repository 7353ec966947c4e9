/**
 * What to do with a client's CONNECT or REAUTH: the decision table of the README, as one pure
 * function. Time and the stored session are inputs; commands are built elsewhere.
 *
 * Why these rules (measured against a real OpenVPN 2.6 server and client):
 * - A certificate-only 2.6 client presents no auth token, so every REAUTH of a good client says
 *   `session_state=Initial`; we accept it when the cid and `session_id` match the session we
 *   created for that cid. The cid is bound to the TLS connection, which OpenVPN verified.
 * - `Authenticated`/`AuthenticatedEmptyUser` mean OpenVPN checked the HMAC of the token it
 *   issued (`auth-gen-token ... external-auth`), so on CONNECT a valid session with that
 *   `session_id` is a reconnect and can be resumed without a browser, also on another server:
 *   a server accepts only tokens made with its own `auth-gen-token-secret`, so a token valid
 *   there means the servers share that secret on purpose.
 * - A REAUTH is a renegotiation of one live client: its session must be bound to this server
 *   and this cid (cids are numbered per server, so the same cid on two servers is two clients).
 * - `Expired`/`Invalid`/`ExpiredEmptyUser` are never accepted.
 * - REAUTH is never answered with a pending login: a 2.6 server then stalls the tunnel ~15 s.
 */
import type { DenialReason } from "../metrics/port.ts";
import type { Session } from "../sessions/types.ts";

export interface ClientRequest {
  kind: "connect" | "reauth";
  /** The OpenVPN server the client is on. */
  server: string;
  cid: number;
  kid: number;
  commonName: string;
  username: string;
  sessionId: string;
  sessionState: string;
  /** The client's `IV_SSO` capability list, e.g. `openurl,webauth,crtext`. */
  ivSso: string;
}

export type Decision =
  | { action: "bypass" }
  | { action: "deny"; code: DenialReason; reason: string; clientReason: string }
  | { action: "start_login" }
  | { action: "resume"; session: Session; refresh: boolean };

export interface DecideOptions {
  bypassCommonNames: readonly RegExp[];
  reauthCheck: "none" | "refresh";
  now: number;
}

const TOKEN_STATES = new Set(["Authenticated", "AuthenticatedEmptyUser"]);
const REAUTH_STATES = new Set(["Initial", ...TOKEN_STATES]);

export const REASONS = {
  noWebAuth: {
    code: "no_webauth",
    reason: "client does not support web authentication (IV_SSO lacks webauth)",
    clientReason:
      "Your VPN client cannot do browser sign-in. Update it, or add 'setenv IV_SSO webauth' to its config.",
  },
  tokenRejected: {
    code: "session_invalid",
    reason: "session token expired or invalid",
    clientReason: "Your VPN session has expired. Reconnect to sign in again.",
  },
  unknownSession: {
    code: "session_invalid",
    reason: "no session for this client",
    clientReason: "Your VPN session has ended. Reconnect to sign in again.",
  },
  sessionExpired: {
    code: "session_expired",
    reason: "session lifetime reached",
    clientReason: "Your VPN session has expired. Reconnect to sign in again.",
  },
} as const;

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
  return (request.kind === "reauth" || TOKEN_STATES.has(request.sessionState)) &&
    !isBypassed(request.commonName, bypassCommonNames);
}

function isBypassed(commonName: string, bypassCommonNames: readonly RegExp[]): boolean {
  return bypassCommonNames.some((pattern) => pattern.test(commonName));
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
    if (!REAUTH_STATES.has(request.sessionState)) return deny(REASONS.tokenRejected);
    if (!usable || session.server !== request.server || session.cid !== request.cid) {
      return deny(REASONS.unknownSession);
    }
    if (session.expiresAt <= options.now) return deny(REASONS.sessionExpired);
    return { action: "resume", session, refresh };
  }
  if (TOKEN_STATES.has(request.sessionState) && usable && session.expiresAt > options.now) {
    return { action: "resume", session, refresh };
  }
  if (!WEBAUTH.test(request.ivSso)) {
    return deny(REASONS.noWebAuth);
  }
  return { action: "start_login" };
}

function deny(reason: { code: DenialReason; reason: string; clientReason: string }): Decision {
  return { action: "deny", ...reason };
}
