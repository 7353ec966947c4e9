/**
 * Why a client was refused: a short fixed `code` (metrics count it, pages may translate it), a
 * `reason` fit to show the user (deny page, VPN client), and the `logReason` OpenVPN logs as
 * the `client-deny` reason and we log. None of them repeats claim values or tokens.
 */
import type { DenialReason } from "../metrics/port.ts";
import type { OidcError } from "../oidc/errors.ts";

export interface Denial {
  /** One of the fixed codes in metrics/port.ts (DENIAL_REASONS). */
  code: DenialReason;
  reason: string;
  logReason: string;
  /** For the log only: what an administrator can do about it (never claim values). */
  hint?: string | undefined;
}

/**
 * An IdP failure as a denial: the error's code goes to OpenVPN's log, its safe reason to the
 * user; counted as `idp_error` at sign-in and `recheck_failed` at a refresh check.
 */
export function idpDenial(error: OidcError, code: "idp_error" | "recheck_failed"): Denial {
  return { code, reason: error.reason, logReason: error.code };
}

export const NO_REFRESH_TOKEN: Denial = {
  code: "recheck_failed",
  reason: "Your access could not be confirmed; reconnect to sign in again.",
  logReason: "no refresh token to re-check the user with",
};
export const UNKNOWN_SERVER: Denial = {
  code: "internal_error",
  reason: "Sign-in failed; try again",
  logReason: "no policy for this OpenVPN server",
};
export const TOO_MANY_SESSIONS: Denial = {
  code: "max_sessions",
  reason: "You already have the maximum number of VPN sessions; disconnect one and try again",
  logReason: "sessions.max_per_user reached",
};
