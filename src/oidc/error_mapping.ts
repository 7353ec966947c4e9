/**
 * From oauth4webapi and transport errors to the typed OidcErrors the bridge acts on, each with
 * its evidence as `cause`: names, codes, HTTP status and the IdP's error fields, never the
 * secret parts of the underlying error.
 */
import * as oauth from "oauth4webapi";
import type { ClientAuthMethod } from "../config/types.ts";
import { printable } from "../printable_text.ts";
import { isMissingAuthTime, missingAuthTimeAdvice } from "./auth_time_advice.ts";
import { SIGNED_JWT_REFUSAL_ADVICE } from "./signed_jwt_advice.ts";
import { templateIssuerAdvice } from "./template_issuer.ts";
import { isTimeClaim, timeClaimAdvice } from "./time_claim_advice.ts";
import {
  AuthorizationResponseError,
  IdpRejectedError,
  IdpUnreachableError,
  OidcError,
  safeText,
} from "./errors.ts";
import { errorText } from "../error_text.ts";

/** `code_exchange`: the token request of a sign-in and its answer, the ID token's checks included. */
type Stage =
  | "discovery"
  | "callback"
  | "code_exchange"
  | "id_token"
  | "userinfo"
  | "refresh"
  | "revocation";

/** How the log names each stage: the operator looks for the failed request by this. */
const STAGE_NAMES: Record<Stage, string> = {
  discovery: "discovery",
  callback: "callback",
  code_exchange: "the code exchange (token request)",
  id_token: "id_token",
  userinfo: "userinfo",
  refresh: "refresh",
  revocation: "revocation",
};

/** The longest issuer a failed discovery quotes from the IdP's document. */
const MAX_QUOTED_ISSUER = 200;

/**
 * Maps oauth4webapi and transport errors to the typed errors the bridge acts on.
 * `clientAuthMethod` (at the code exchange) names the method a refused client used.
 */
export function toOidcError(
  error: unknown,
  stage: Stage,
  clientAuthMethod?: ClientAuthMethod,
): OidcError {
  if (error instanceof OidcError) return error;
  const cause = evidence(error);
  const where = STAGE_NAMES[stage];
  // Before the generic branches: they say neither that the secret is wrong nor what to fix.
  if (stage === "code_exchange" && refusesClient(cause)) {
    return new OidcError("invalid_response", clientRefusedMessage(cause, clientAuthMethod), {
      cause,
    });
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthorizationResponseError(error.error, error.error_description, { cause });
  }
  if (error instanceof oauth.ResponseBodyError) {
    if (error.error === "invalid_grant") {
      return new IdpRejectedError(`IdP rejected the grant during ${where}: invalid_grant`, {
        cause,
      });
    }
    return new OidcError(
      stage === "callback" ? "idp_error" : "invalid_response",
      `IdP error during ${where}: HTTP ${error.status} ${safeCode(error.error)}`,
      { cause },
    );
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new OidcError(
      "invalid_response",
      `IdP challenged the request during ${where}: HTTP ${cause.status} ${cause.error}`,
      { cause },
    );
  }
  const message = errorText(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (stage === "callback") {
    const stateProblem = /"state"/.test(message);
    return new OidcError(
      stateProblem ? "invalid_state" : "invalid_callback",
      `Invalid authorization response: ${message}`,
      { cause },
    );
  }
  if (
    (stage === "id_token" || stage === "code_exchange" || stage === "refresh") &&
    isTokenValidationError(code)
  ) {
    // A sign-in's ID token needs auth_time only for authorize_params.max_age (client.ts).
    const advice = stage !== "refresh" && isMissingAuthTime(error)
      ? `; ${missingAuthTimeAdvice("max_age")}`
      : clockAdvice(error);
    return idTokenRefused(stage, `${message}${advice}`, cause);
  }
  if (error instanceof TypeError && code === undefined) {
    return new IdpUnreachableError(`IdP request failed during ${where}: ${message}`, { cause });
  }
  const issuer = stage === "discovery" ? namedIssuer(error) : undefined;
  return new OidcError(
    "invalid_response",
    `Invalid IdP response during ${where}: ${message}${issuer ?? ""}`,
    { cause },
  );
}

/**
 * An ID token refused: the sign-in's (`id_token`, `code_exchange`) or a refresh's new one, which
 * the log tells apart. Also for the checks client.ts adds to oauth4webapi's (issued_at.ts).
 */
export function idTokenRefused(
  stage: "id_token" | "code_exchange" | "refresh",
  detail: string,
  cause?: OidcErrorEvidence,
): OidcError {
  const what = stage === "refresh" ? "Invalid refreshed ID token" : "Invalid ID token";
  return new OidcError("invalid_id_token", `${what}: ${detail}`, cause && { cause });
}

/**
 * For an ID token refused for one of its times: how far it is from this host's clock (the
 * injected one, as oauth4webapi read it) and what to do; "" for anything else. oauth4webapi
 * keeps the claims, its time and the tolerance it allowed in the error's cause; that cause is
 * not kept (evidence()), only these numbers reach the message.
 */
function clockAdvice(error: unknown): string {
  if (!(error instanceof oauth.OperationProcessingError)) return "";
  if (error.code !== oauth.JWT_TIMESTAMP_CHECK) return "";
  const cause = error.cause as
    | { claim?: unknown; claims?: Record<string, unknown>; now?: unknown; tolerance?: unknown }
    | undefined;
  const claim = cause?.claim;
  const value = cause?.claims?.[claim as string];
  const now = cause?.now;
  if (!isTimeClaim(claim) || !Number.isFinite(value) || !Number.isFinite(now)) return "";
  const tolerance = cause?.tolerance;
  return "; " + timeClaimAdvice({
    claim,
    valueSec: value as number,
    nowSec: now as number,
    toleranceSec: Number.isFinite(tolerance) ? tolerance as number : undefined,
  });
}

/**
 * Whether the token endpoint refused our client rather than the code: `invalid_client` or
 * `unauthorized_client` on a 400 or 401 (RFC 6749 5.2), or a bare 401. The IdP authenticates
 * the client before it looks at the code, so every sign-in fails this way until the client's
 * credentials are fixed. A challenge without an `error` counts as invalid_client (evidence()).
 */
function refusesClient(cause: Pick<OidcErrorEvidence, "status" | "error">): boolean {
  if (cause.status !== 400 && cause.status !== 401) return false;
  if (cause.error === undefined) return cause.status === 401;
  return cause.error === "invalid_client" || cause.error === "unauthorized_client";
}

/**
 * Why an IdP refuses a signed JWT (SIGNED_JWT_REFUSAL_ADVICE), after "; ", for a private_key_jwt
 * client the token endpoint refused (refusesClient), at a sign-in's code exchange or a refresh;
 * "" for any other method or answer.
 */
export function signedJwtRefusal(
  cause: Pick<OidcErrorEvidence, "status" | "error">,
  method: ClientAuthMethod | undefined,
): string {
  return method === "private_key_jwt" && refusesClient(cause)
    ? `; ${SIGNED_JWT_REFUSAL_ADVICE}`
    : "";
}

/** Names the cause and the keys to fix; never the secret, never the IdP's body. */
function clientRefusedMessage(
  cause: OidcErrorEvidence,
  method: ClientAuthMethod | undefined,
): string {
  const credential = method === "private_key_jwt" ? "oidc.private_key" : "oidc.client_secret";
  const sentWith = method === undefined ? "" : ` (${method})`;
  const codeFlow = cause.error === "unauthorized_client"
    ? ", and that the client may use the code flow (Keycloak: Standard flow)"
    : "";
  return `IdP refused the client's credentials${sentWith} at ${STAGE_NAMES.code_exchange}: ` +
    `HTTP ${cause.status} ${cause.error ?? "(no error body)"}: check ${credential} and ` +
    `oidc.client_auth_method against the client at the IdP${codeFlow} ` +
    `(check-config --probe tests them)${signedJwtRefusal(cause, method)}`;
}

/**
 * For a discovery document naming another issuer: which one, so the operator can tell a typo
 * from a wrong host. The issuer is the IdP's public URL, not a secret; it is still the IdP's
 * text, so it is bounded, quoted and escaped, and offered as the fix only when shown whole.
 */
function namedIssuer(error: unknown): string | undefined {
  if (!(error instanceof oauth.OperationProcessingError)) return undefined;
  if (error.code !== oauth.JSON_ATTRIBUTE_COMPARISON) return undefined;
  const cause = error.cause as { attribute?: unknown; body?: { issuer?: unknown } } | undefined;
  const issuer = cause?.attribute === "issuer" ? cause.body?.issuer : undefined;
  if (typeof issuer !== "string") return undefined;
  const whole = issuer.length <= MAX_QUOTED_ISSUER;
  const quoted = printable(
    JSON.stringify(whole ? issuer : `${issuer.slice(0, MAX_QUOTED_ISSUER)}...`),
  );
  if (!whole) {
    return `: the document names the issuer ${quoted} (cut to ${MAX_QUOTED_ISSUER} characters)`;
  }
  const template = templateIssuerAdvice(issuer);
  return template === undefined
    ? `: the document names the issuer ${quoted} (if that is this IdP, set oidc.issuer = ${quoted})`
    : `: the document names the issuer ${quoted}, ${template}`;
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
