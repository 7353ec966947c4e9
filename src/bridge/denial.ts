/**
 * Why a client was refused: a short fixed `code` (metrics count it, pages may translate it), a
 * `reason` fit to show the user (deny page, VPN client), and the `logReason` OpenVPN logs as
 * the `client-deny` reason and we log. None of them repeats claim values or tokens. The fixed
 * denials are all here (client_messages.ts translates their `reason`); whether a refusal is a
 * `client-deny` or ends the client with HALT is refusal.ts's.
 */
import { MANAGEMENT_TOO_OLD } from "../management/openvpn_version.ts";
import type { DenialReason } from "../metrics/port.ts";
import type { OidcError, OidcErrorCode } from "../oidc/errors.ts";
import { IDP_SESSION_HINT } from "./refresh_expiry.ts";
import { IDP_UNREACHABLE_HINT } from "./idp_unreachable_hint.ts";

export interface Denial {
  /** One of the fixed codes in metrics/port.ts (DENIAL_REASONS). */
  code: DenialReason;
  reason: string;
  logReason: string;
  /** For the log only: what an administrator can do about it (never claim values). */
  hint?: string | undefined;
}

/**
 * The IdP's answers counted under a code of their own wherever they come. `access_denied` is no
 * failure but the user's choice (they pressed Cancel) or the IdP's own policy refusing them, a
 * refusal like the policy's. `idp_unreachable` (timeouts, 5xx, 429, refused connections) says
 * nothing about the user: an outage to alert on, not a user disabled or a bad answer.
 */
const OWN_CODES: Partial<Record<OidcErrorCode, DenialReason>> = {
  access_denied: "idp_denied",
  idp_unreachable: "idp_unreachable",
};

/**
 * An IdP's refusal or failure, as a denial: the error's code goes to OpenVPN's log, its safe
 * reason to the user. Counted under its own code (OWN_CODES), else as `failure`: `idp_error` at
 * sign-in, `recheck_failed` at a refresh check.
 */
export function idpDenial(error: OidcError, failure: "idp_error" | "recheck_failed"): Denial {
  return { code: OWN_CODES[error.code] ?? failure, reason: error.reason, logReason: error.code };
}

/** A refresh check's failure as a denial: idpDenial, with IDP_UNREACHABLE_HINT when it applies. */
export function refreshCheckDenial(error: OidcError): Denial {
  const denial = idpDenial(error, "recheck_failed");
  return denial.code === "idp_unreachable" ? { ...denial, hint: IDP_UNREACHABLE_HINT } : denial;
}

export const NO_REFRESH_TOKEN: Denial = {
  code: "recheck_failed",
  reason: "Your access could not be confirmed; reconnect to sign in again.",
  logReason: "no refresh token to re-check the user with",
};
/** Something failed on our side; the log has the details. */
export const INTERNAL_ERROR: Denial = {
  code: "internal_error",
  reason: "Sign-in failed on the server; try again",
  logReason: "internal error",
};
export const UNKNOWN_SERVER: Denial = {
  ...INTERNAL_ERROR,
  logReason: "no policy for this OpenVPN server",
};
/** A request block the management protocol dropped (server_link.ts). */
export const MALFORMED_REQUEST: Denial = { ...INTERNAL_ERROR, logReason: "malformed request" };
export const WRONG_NETWORK: Denial = {
  code: "wrong_network",
  reason: "Sign-in must happen from the same network as the VPN connection",
  logReason: "browser ip mismatch",
};
export const UNUSABLE_USERNAME: Denial = {
  code: "username_unusable",
  reason: "Your user name cannot be used with this VPN; contact your administrator",
  logReason: "username unusable for auth-token-user",
};
export const SIGN_IN_TIMED_OUT: Denial = {
  code: "timeout",
  logReason: "sign-in timed out",
  reason: "Sign-in was not completed in time. Reconnect to try again.",
};
/**
 * By the `openvpn.username_policy` that refused the name. Compared exactly, so the text says case
 * counts: Keycloak signs `Alice` in as `alice`, and the VPN user name `Alice` is refused.
 */
export const USERNAME_MISMATCH: Record<"match" | "empty_or_match", Denial> = {
  match: {
    code: "username_mismatch",
    reason: "Your VPN user name must be the one you sign in with, including case",
    logReason: "openvpn username differs from the signed-in user",
  },
  empty_or_match: {
    code: "username_mismatch",
    reason: "Your VPN user name must be empty or the one you sign in with, including case",
    logReason: "openvpn username differs from the signed-in user",
  },
};
/** The decision table's own (decide.ts): the request alone decides, nobody has signed in. */
export const NO_WEBAUTH: Denial = {
  code: "no_webauth",
  reason:
    "Your VPN client cannot do browser sign-in. Update it, or add 'setenv IV_SSO webauth' to its config.",
  logReason: "client does not support web authentication (IV_SSO lacks webauth)",
};
/**
 * NO_WEBAUTH for a client whose `IV_VER` is before 2.5 (client_version.ts): no config line gives
 * it browser sign-in, so the text does not suggest one.
 */
export const CLIENT_TOO_OLD: Denial = {
  code: "no_webauth",
  reason: "Your VPN client is too old for browser sign-in. Update it to OpenVPN 2.6 or later.",
  logReason: "client too old for web authentication (IV_VER before 2.5 sends no IV_SSO)",
};
/**
 * A new client of an OpenVPN server too old to hold it while its user signs in (management
 * version before 3: no `client-pending-auth`, openvpn_version.ts). Counted as `no_webauth`: no
 * browser sign-in can happen on that client, and no retry of it helps (HALT, refusal.ts).
 */
export const SERVER_TOO_OLD: Denial = {
  code: "no_webauth",
  reason:
    "This VPN server is too old for browser sign-in. Ask its administrator to update OpenVPN.",
  logReason: `OpenVPN server too old: ${MANAGEMENT_TOO_OLD}`,
};
/** A REAUTH whose `session_state` is none OpenVPN 2.6 sends for a refused token (decide.ts). */
export const TOKEN_REJECTED: Denial = {
  code: "session_invalid",
  reason: "Your VPN session has expired. Reconnect to sign in again.",
  logReason: "session token refused (unknown session_state)",
};
/**
 * A REAUTH whose token OpenVPN refused, by the `session_state` it said: the log and OpenVPN's
 * `client-deny` reason tell an expired token (auth-gen-token's lifetime, or its renewal time
 * passed unused) from an invalid one (its HMAC failed). The user is told the same.
 */
export const TOKEN_REFUSED: ReadonlyMap<string, Denial> = new Map(
  [
    ["Expired", "session token expired (session_state Expired)"],
    ["ExpiredEmptyUser", "session token expired (session_state ExpiredEmptyUser)"],
    ["Invalid", "session token invalid (session_state Invalid)"],
  ].map(([state, logReason]) => [state!, { ...TOKEN_REJECTED, logReason: logReason! }]),
);
export const UNKNOWN_SESSION: Denial = {
  code: "session_invalid",
  reason: "Your VPN session has ended. Reconnect to sign in again.",
  logReason: "no session for this client",
};
/**
 * A sign-in whose client chose its session_id (a token OpenVPN refused, whose id OpenVPN before
 * 2.6.21 and 2.7.5 still passes on) naming another user's session: refused, that session kept.
 */
export const SESSION_ID_TAKEN: Denial = {
  ...UNKNOWN_SESSION,
  logReason: "session_id of another user's session, from a token OpenVPN refused",
};
export const SESSION_EXPIRED: Denial = {
  code: "session_expired",
  reason: "Your VPN session has expired. Reconnect to sign in again.",
  logReason: "session lifetime reached",
};
/**
 * A REAUTH of a session whose refresh token has expired at the IdP, where sessions are re-checked
 * there (admission.ts): the session has ended, and the client signs in again when it reconnects.
 */
export const REFRESH_TOKEN_EXPIRED: Denial = {
  ...SESSION_EXPIRED,
  logReason: "refresh token expired at the identity provider",
  hint: IDP_SESSION_HINT,
};
/** The session store could not be asked (decide_without_store.ts). */
export const STORE_UNAVAILABLE: Denial = {
  code: "store_unavailable",
  reason: "Sign-in is unavailable right now; try again in a minute.",
  logReason: "session store unreachable",
};
/** The store refused one more session (sessions.max_entries): as unavailable to the user. */
export const STORE_FULL: Denial = {
  ...STORE_UNAVAILABLE,
  logReason: "session store full (sessions.max_entries)",
};
/**
 * A CONNECT from an address that has `openvpn.max_pending_per_address` sign-ins waiting already
 * (sign_ins.ts): each holds one of OpenVPN's `max-clients` places until it ends.
 */
export const TOO_MANY_SIGN_INS: Denial = {
  code: "too_many_sign_ins",
  reason: "Too many sign-ins from your address; try again in a few minutes",
  logReason: "openvpn.max_pending_per_address reached",
};
export const TOO_MANY_SESSIONS: Denial = {
  code: "max_sessions",
  reason: "You already have the maximum number of VPN sessions; disconnect one and try again",
  logReason: "sessions.max_per_user reached",
};
