/**
 * From oauth4webapi and transport errors to the typed OidcErrors the bridge acts on, each with
 * its evidence as `cause`: names, codes, HTTP status and the IdP's error fields, never the
 * secret parts of the underlying error.
 */
import * as oauth from "oauth4webapi";
import {
  AuthorizationResponseError,
  IdpRejectedError,
  IdpUnreachableError,
  OidcError,
  safeText,
} from "./errors.ts";

type Stage = "discovery" | "callback" | "id_token" | "userinfo" | "refresh" | "revocation";

/** Maps oauth4webapi and transport errors to the typed errors the bridge acts on. */
export function toOidcError(error: unknown, stage: Stage): OidcError {
  if (error instanceof OidcError) return error;
  const cause = evidence(error);
  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthorizationResponseError(error.error, error.error_description, { cause });
  }
  if (error instanceof oauth.ResponseBodyError) {
    if (error.error === "invalid_grant") {
      return new IdpRejectedError(`IdP rejected the grant during ${stage}: invalid_grant`, {
        cause,
      });
    }
    return new OidcError(
      stage === "callback" ? "idp_error" : "invalid_response",
      `IdP error during ${stage}: HTTP ${error.status} ${safeCode(error.error)}`,
      { cause },
    );
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new OidcError("invalid_response", `IdP challenged the request during ${stage}`, {
      cause,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (stage === "callback") {
    const stateProblem = /"state"/.test(message);
    return new OidcError(
      stateProblem ? "invalid_state" : "invalid_callback",
      `Invalid authorization response: ${message}`,
      { cause },
    );
  }
  if (stage === "id_token" && isTokenValidationError(code)) {
    return new OidcError("invalid_id_token", `Invalid ID token: ${message}`, { cause });
  }
  if (stage === "refresh" && isTokenValidationError(code)) {
    return new OidcError("invalid_id_token", `Invalid refreshed ID token: ${message}`, { cause });
  }
  if (error instanceof TypeError && code === undefined) {
    return new IdpUnreachableError(`IdP request failed during ${stage}: ${message}`, { cause });
  }
  return new OidcError("invalid_response", `Invalid IdP response during ${stage}: ${message}`, {
    cause,
  });
}

/** The evidence an OidcError keeps as its `cause`. */
export interface OidcErrorEvidence {
  name: string;
  /** oauth4webapi's code (`OAUTH_JWT_CLAIM_COMPARISON_FAILED`, ...), when it has one. */
  code?: string;
  message: string;
  /** HTTP status of the IdP's answer, when there was one. */
  status?: number;
  /** The IdP's OAuth `error` and `error_description`, restricted to safe characters. */
  error?: string;
  errorDescription?: string;
}

/**
 * What went wrong, without the secret parts: oauth4webapi's own causes can hold the callback
 * parameters (the code), the expected nonce or state, or a whole Response, so only the name,
 * code, message and the IdP's error fields are kept.
 */
export function evidence(error: unknown): OidcErrorEvidence {
  if (!(error instanceof Error)) return { name: "Error", message: safeText(String(error), 300) };
  const found: OidcErrorEvidence = { name: error.name, message: safeText(error.message, 300) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") found.code = safeCode(code);
  if (error instanceof oauth.ResponseBodyError) {
    found.status = error.status;
    found.error = safeCode(error.error);
    if (error.error_description !== undefined) {
      found.errorDescription = safeText(error.error_description, 200);
    }
  } else if (error instanceof oauth.AuthorizationResponseError) {
    found.error = safeCode(error.error);
  } else if (error instanceof oauth.WWWAuthenticateChallengeError) {
    found.status = error.status;
    // The token endpoint's challenge to our client authentication (RFC 6749 5.2: invalid_client
    // with HTTP Basic); its `error`, when it names one, is the IdP's word.
    const challenged = error.cause.find((challenge) => challenge.parameters.error)?.parameters
      .error;
    found.error = safeCode(challenged ?? "invalid_client");
  } else if ((error as { cause?: unknown }).cause instanceof Response) {
    found.status = ((error as { cause?: unknown }).cause as Response).status;
  }
  return found;
}

function isTokenValidationError(code: unknown): boolean {
  return code === oauth.JWT_CLAIM_COMPARISON || code === oauth.JWT_TIMESTAMP_CHECK ||
    code === oauth.KEY_SELECTION || code === oauth.INVALID_RESPONSE ||
    code === oauth.PARSE_ERROR || code === oauth.UNSUPPORTED_OPERATION;
}

function safeCode(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 64);
}
