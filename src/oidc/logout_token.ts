/**
 * OpenID Connect Back-Channel Logout 1.0, section 2.6: validating a logout token. Pure: the
 * keys come from a resolver (the IdP's JWKS in the service, a local set in tests) and the time
 * is passed in. Signature, `iss`, `aud`, `iat`, `exp`/`nbf` are checked by jose; the claims that
 * make a JWT a logout token (and not, say, an ID token replayed here) are checked below.
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { isTimeClaim, timeClaimAdvice } from "./time_claim_advice.ts";
import { errorText } from "../error_text.ts";

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

/**
 * How old (by `iat`) a logout token may be. The IdP sends it at the moment of logout; a token
 * older than this is refused, and the replay cache need remember a `jti` only this long.
 */
export const LOGOUT_TOKEN_MAX_AGE_SEC = 120;

/**
 * Asymmetric signatures only: an HMAC key would be the client secret, which a logout token
 * signed by the IdP's realm keys (Keycloak, oidc-provider) never uses; `none` is never valid.
 */
export const LOGOUT_TOKEN_ALGORITHMS: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/**
 * Header `typ` values seen in the wild: Keycloak sent `JWT` before 2024 and `logout+jwt` since;
 * others send none. Media types compare without case and with an optional `application/`.
 */
const ACCEPTED_TYPES = new Set(["logout+jwt", "jwt"]);

export interface LogoutExpectation {
  issuer: string;
  clientId: string;
  /** The current time in milliseconds. */
  now: number;
  clockToleranceSec: number;
  /** Signature algorithms to accept (a subset of LOGOUT_TOKEN_ALGORITHMS). */
  algorithms: readonly string[];
}

/** What a valid logout token asks for: end the SSO session `sid`, or every session of `sub`. */
export interface LogoutRequest {
  sid: string | undefined;
  sub: string | undefined;
  jti: string;
  /**
   * How long to remember its `jti` (ms): the first millisecond at which this token no longer
   * passes validation, so every moment it would still pass is covered.
   */
  replayUntil: number;
}

export class LogoutTokenError extends Error {
  override readonly name = "LogoutTokenError";
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

/** `typ` as the token has it: jose checks no header member's type. */
function acceptedType(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== "string") return false;
  return ACCEPTED_TYPES.has(typ.toLowerCase().replace(/^application\//, ""));
}

/** Validates a logout token; throws LogoutTokenError saying which check failed. */
export async function validateLogoutToken(
  token: string,
  keys: JWTVerifyGetKey,
  expected: LogoutExpectation,
): Promise<LogoutRequest> {
  let verified;
  try {
    verified = await jwtVerify(token, keys, {
      issuer: expected.issuer,
      audience: expected.clientId,
      algorithms: [...expected.algorithms],
      clockTolerance: expected.clockToleranceSec,
      currentDate: new Date(expected.now),
      maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SEC,
      requiredClaims: ["iat", "jti", "events"],
    });
  } catch (error) {
    throw new LogoutTokenError(`Logout token rejected: ${describeJoseError(error, expected)}`, {
      cause: error,
    });
  }
  const { payload, protectedHeader } = verified;
  const fail = (why: string): never => {
    throw new LogoutTokenError(`Logout token rejected: ${why}`);
  };
  if (!acceptedType(protectedHeader.typ)) fail(`header "typ" is not logout+jwt or JWT`);
  const events = payload["events"];
  if (!isJsonObject(events) || !isJsonObject(events[BACKCHANNEL_LOGOUT_EVENT])) {
    fail(`claim "events" does not name ${BACKCHANNEL_LOGOUT_EVENT}`);
  }
  // A nonce marks an ID token: refusing it keeps an ID token from being used as a logout token.
  if ("nonce" in payload) fail(`claim "nonce" must not be present`);
  if (!nonEmptyString(payload.jti)) fail(`claim "jti" is missing or empty`);
  const sid = payload["sid"];
  const sub = payload.sub;
  if (sid !== undefined && !nonEmptyString(sid)) fail(`claim "sid" is not a non-empty string`);
  if (sub !== undefined && !nonEmptyString(sub)) fail(`claim "sub" is not a non-empty string`);
  if (sid === undefined && sub === undefined) fail(`neither "sid" nor "sub" is present`);
  // jose compares whole seconds (the current time rounded down), so a token stays valid to the
  // end of the second its limit falls in: remembered one second less, a replay in that last
  // second would pass (and, naming only `sub`, end sessions begun since the real logout).
  const ageLimit =
    (Math.floor(payload.iat! + LOGOUT_TOKEN_MAX_AGE_SEC + expected.clockToleranceSec) + 1) * 1000;
  // Refused once the current second reaches exp + tolerance.
  const expiry = payload.exp === undefined
    ? ageLimit
    : Math.ceil(payload.exp + expected.clockToleranceSec) * 1000;
  return {
    sid: sid as string | undefined,
    sub,
    jti: payload.jti as string,
    replayUntil: Math.min(ageLimit, expiry),
  };
}

/**
 * jose's messages name the failed check without quoting the token; keep the log readable. A
 * time check's adds how far the claim is from this host's clock: the IdP's clock ahead by more
 * than the tolerance refuses every logout token, and jose's words blame the token.
 */
function describeJoseError(error: unknown, expected: LogoutExpectation): string {
  if (!(error instanceof errors.JOSEError)) {
    return errorText(error);
  }
  const described = `${error.code}: ${error.message}`;
  if (!(error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired)) {
    return described;
  }
  // Only after the signature held: the payload is the IdP's.
  const value = error.payload[error.claim];
  if (error.reason !== "check_failed" || !isTimeClaim(error.claim) || !Number.isFinite(value)) {
    return described;
  }
  const advice = timeClaimAdvice({
    claim: error.claim,
    valueSec: value as number,
    nowSec: Math.floor(expected.now / 1000),
    toleranceSec: expected.clockToleranceSec,
    maxAgeSec: LOGOUT_TOKEN_MAX_AGE_SEC,
  });
  return `${described}; ${advice}`;
}

/** A JSON object: not null, not an array (typeof says "object" for both). */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
