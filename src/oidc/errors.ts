/**
 * Errors of the OIDC relying party. Each carries a machine-readable `code` and a short `reason`
 * that is safe to show in the browser and to send to the VPN client: it never contains tokens,
 * codes or secrets. The `message` has details for the log (still without tokens), and the
 * `cause` the evidence (see `evidence()` in error_mapping.ts: names, codes, HTTP status, the IdP's
 * error fields; never the secret parts of the underlying error).
 */

export type OidcErrorCode =
  /** The IdP (or the user there) refused the authorization request. */
  | "access_denied"
  /** The IdP answered the authorization request with another OAuth error. */
  | "idp_error"
  /** The callback's `state` does not belong to the login it was matched with. */
  | "invalid_state"
  /** The callback is malformed: no code, wrong issuer, duplicate parameters. */
  | "invalid_callback"
  /** The ID token failed validation (signature, issuer, audience, nonce, times, subject). */
  | "invalid_id_token"
  /** A token, userinfo or discovery response did not follow the protocol. */
  | "invalid_response"
  /** The IdP rejected a grant: the code or refresh token is no longer valid. */
  | "invalid_grant"
  /** The IdP could not be reached, timed out, or answered with a server error. */
  | "idp_unreachable";

const REASONS: Record<OidcErrorCode, string> = {
  access_denied: "Login was denied or cancelled at the identity provider",
  idp_error: "The identity provider refused the login",
  invalid_state: "Login request expired or does not match; please start again",
  invalid_callback: "Invalid login response from the identity provider",
  invalid_id_token: "Invalid identity token from the identity provider",
  invalid_response: "Invalid response from the identity provider",
  invalid_grant: "Identity provider session ended; please log in again",
  idp_unreachable: "Identity provider is unreachable; please try again later",
};

export class OidcError extends Error {
  readonly code: OidcErrorCode;
  /** Short text safe to show to the user (browser page, VPN client deny reason). */
  readonly reason: string;
  /**
   * A refresh the IdP granted, with a new refresh token, whose next step failed (the new ID
   * token's check, userinfo): the token it rotated out is dead at IdPs that rotate, so the
   * session must keep this one whatever is decided.
   */
  rotated?: { refreshToken: string; refreshExpiresAt: number | undefined };

  constructor(code: OidcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OidcError";
    this.code = code;
    this.reason = REASONS[code];
  }
}

/**
 * The authorization response carried `error` (for example `access_denied` when the user pressed
 * "Cancel" or a policy at the IdP refused them).
 */
export class AuthorizationResponseError extends OidcError {
  /** The IdP's `error` value, restricted to safe characters. */
  readonly idpError: string;
  /** The IdP's `error_description`, restricted to printable ASCII and 200 characters. */
  readonly idpErrorDescription: string | undefined;

  constructor(
    idpError: string,
    idpErrorDescription: string | undefined,
    options?: { cause?: unknown },
  ) {
    const error = safeText(idpError, 64) || "unknown_error";
    const description = idpErrorDescription === undefined
      ? undefined
      : safeText(idpErrorDescription, 200);
    super(
      error === "access_denied" ? "access_denied" : "idp_error",
      `Authorization response error: ${error}${description ? ` (${description})` : ""}`,
      options,
    );
    this.name = "AuthorizationResponseError";
    this.idpError = error;
    this.idpErrorDescription = description;
  }
}

/**
 * The IdP rejected a refresh (or code) grant with `invalid_grant`: the user was disabled, the
 * SSO session ended or the token was revoked. The session must end.
 */
export class IdpRejectedError extends OidcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_grant", message, options);
    this.name = "IdpRejectedError";
  }
}

/**
 * The IdP could not answer: network error, timeout, or HTTP 5xx/429. Says nothing about the
 * user; the bridge applies its `idp_unreachable` policy.
 */
export class IdpUnreachableError extends OidcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("idp_unreachable", message, options);
    this.name = "IdpUnreachableError";
  }
}

/** Keeps printable ASCII only and truncates: IdP-supplied text goes to logs and users. */
export function safeText(text: string, max: number): string {
  const printable = text.replace(/[^\x20-\x7e]/g, "").trim();
  return printable.length > max ? `${printable.slice(0, max - 3)}...` : printable;
}
