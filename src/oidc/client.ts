/**
 * The OpenID Connect relying party: authorization code flow with PKCE, ID token validation,
 * optional userinfo, refresh and revocation, over oauth4webapi. Fetch, clock and randomness
 * are injected; nothing here reads globals except the defaults of those three.
 */
import * as oauth from "oauth4webapi";
import { type Clock, systemClock } from "../clock.ts";
import type { ResolvedConfig } from "../config/types.ts";
import { getLogger } from "../log.ts";
import { createClientAuth } from "./client_auth.ts";
import { authorizationUrl } from "./authorization_url.ts";
import { missingAuthTimeAdvice } from "./auth_time_advice.ts";
import { checkOidcConfig, maxAgeOf } from "./config_checks.ts";
import { backChannelRefusal, plainHttpAllowed, requestRefusal } from "./back_channel.ts";
import { IdpRejectedError, OidcError } from "./errors.ts";
import { evidence, idTokenRefused, signedJwtRefusal, toOidcError } from "./error_mapping.ts";
import { type FetchLike, timedFetch } from "./http.ts";
import { checkIssuedAt } from "./issued_at.ts";
import {
  type GateLane,
  idpRequestLimits,
  RequestGate,
  type RequestGateLimits,
} from "./request_gate.ts";

const log = getLogger("oidc");

export interface OidcClientDeps {
  fetch?: FetchLike;
  /** Drives every token time check and the IdP request timeout. */
  clock?: Clock;
  /** A fresh random base64url string of at least 32 bytes (state, nonce, PKCE verifier). */
  random?: () => string;
  /** For tests: the gate's limits (default: from `oidc.max_open_requests`). */
  requestLimits?: RequestGateLimits;
}

/** What the callback must be checked against: the values startLogin() produced. */
export interface LoginExpectation {
  state: string;
  nonce: string;
  codeVerifier: string;
  /**
   * When the sign-in began (ms since the epoch). With `prompt=login` configured the user must
   * have authenticated since (the ID token's auth_time): the parameter travels through the
   * browser, which can drop it and sign in on an IdP session.
   */
  since?: number;
}

export interface LoginStart extends LoginExpectation {
  url: URL;
}

export interface LoginResult {
  /** ID token claims, merged with userinfo when configured (userinfo wins for user claims). */
  claims: Record<string, unknown>;
  subject: string;
  /** The IdP's SSO session id, when the ID token carries `sid`. */
  sid: string | undefined;
  refreshToken: string | undefined;
  /** From `refresh_expires_in` (Keycloak) when present and non-zero, in ms since the epoch. */
  refreshExpiresAt: number | undefined;
  /** Raw ID token, e.g. for `id_token_hint` at logout. */
  idToken: string;
}

export interface RefreshResult {
  /**
   * What the IdP says about the user now, and only that: the new ID token's claims (merged
   * with userinfo when `use_userinfo` is on), or, when the refresh brought no ID token,
   * userinfo read with the new access token. Undefined when neither exists (no ID token and
   * no userinfo endpoint).
   */
  claims: Record<string, unknown> | undefined;
  /** The rotated refresh token, or the presented one when the IdP does not rotate. */
  refreshToken: string;
  refreshExpiresAt: number | undefined;
  idToken: string | undefined;
}

export interface OidcClient {
  /** True once discovery succeeded (for /readyz). */
  readonly ready: boolean;
  discover(): Promise<oauth.AuthorizationServer>;
  /** The state is `<stateTag>.<random>`: the callback can tell whose login it is. */
  startLogin(stateTag: string): Promise<LoginStart>;
  finishLogin(callbackUrl: URL, expected: LoginExpectation): Promise<LoginResult>;
  /**
   * Runs a refresh grant for the user `expectedSubject`: a new ID token must be about them
   * (OIDC Core 12.2), and so must userinfo.
   *
   * @throws {IdpRejectedError} on any 4xx answer, JSON error body or not: the grant is gone
   */
  refresh(refreshToken: string, expectedSubject: string): Promise<RefreshResult>;
  /**
   * RFC 7009 revocation of a refresh token; does nothing when the IdP has no endpoint or
   * `oidc.revoke_refresh_tokens` is off. Waits in
   * the background lane for a slot at the IdP (request_gate.ts): a storm of them drains a few
   * at a time behind the requests someone waits for.
   */
  revoke(refreshToken: string): Promise<void>;
  /**
   * A GET at the IdP on the client's own path: the `oidc.http_timeout` deadline, the body cap,
   * a waited slot at the request gate, the metrics, the back-channel rule (back_channel.ts), and
   * refused after close(). For what other parts read from the IdP (the back-channel logout's
   * keys).
   */
  get(url: string, headers: HeadersInit): Promise<Response>;
  /**
   * Sends nothing more: requests waiting for a slot at the IdP, and any asked later, are
   * refused (IdpUnreachableError); those already sent finish within `oidc.http_timeout`.
   */
  close(): void;
}

/** Claims that describe the token rather than the user; userinfo never overrides them. */
const PROTOCOL_CLAIMS = new Set([
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "nonce",
  "azp",
  "auth_time",
  "acr",
  "amr",
  "at_hash",
  "c_hash",
  "sid",
]);

/** Forced JWKS re-fetches (unknown `kid`) happen at most this often. */
const ROTATION_REFETCH_INTERVAL_MS = 10_000;

export function createOidcClient(
  config: ResolvedConfig["oidc"],
  redirectUri: string,
  deps: OidcClientDeps = {},
): OidcClient {
  const problems = checkOidcConfig(config);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new Error(`Invalid OIDC configuration: oidc.${first.key}: ${first.message}`);
  }
  const clock = deps.clock ?? systemClock;
  const now = clock.now;
  const random = deps.random ?? oauth.generateRandomState;
  // The gate's waits are durations on this host: a wall clock stepped forward would drop queued
  // revocations as stale, one stepped back would send one that waited half an hour.
  const gate = new RequestGate(
    deps.requestLimits ?? idpRequestLimits(config.maxOpenRequests),
    clock.monotonic,
  );
  const options = (lane: GateLane) => {
    const send = timedFetch(deps.fetch ?? fetch, config.httpTimeoutMs, clock, { gate, lane });
    // Every request, whatever asked for it: oauth4webapi's flag below lets plain http through
    // to any host, the rule only to a loopback one.
    const guarded: typeof send = (url, init) => {
      const refusal = requestRefusal(url, config.issuer);
      return refusal === undefined
        ? send(url, init)
        : Promise.reject(new OidcError("invalid_response", `Not fetched: ${refusal}`));
    };
    return {
      [oauth.customFetch]: guarded,
      [oauth.allowInsecureRequests]: plainHttpAllowed(config.issuer),
    } as const;
  };
  const httpOptions = options("waited");
  /** Revocations: nobody waits for them (request_gate.ts). */
  const backgroundHttpOptions = options("background");

  let metadata: Promise<oauth.AuthorizationServer> | undefined;
  /** What `metadata` last resolved to: a request holding another began before a re-fetch. */
  let discovered: oauth.AuthorizationServer | undefined;
  let ready = false;
  /** On clock.monotonic(): a wall clock stepped back would hold the next re-fetch as long. */
  let lastForcedRefetch = -Infinity;
  let clientAuth: Promise<oauth.ClientAuth> | undefined;

  /**
   * Client metadata with the injected clock expressed as oauth4webapi's clock skew: whole seconds
   * added to its floor(Date.now() / 1000), so the difference of the two floors (rounding the
   * difference of the two times put oauth4webapi's "now" a second off in half the cases).
   */
  function client(): oauth.Client {
    return {
      client_id: config.clientId,
      [oauth.clockSkew]: Math.floor(now() / 1000) - Math.floor(Date.now() / 1000),
      [oauth.clockTolerance]: config.clockToleranceSec,
    };
  }

  /** This host's clock as oauth4webapi reads it for the token time checks (client()). */
  function nowSec(): number {
    return Math.floor(now() / 1000);
  }

  /** Imports the signing key once; a failure (bad key) is reported and retried next time. */
  function auth(): Promise<oauth.ClientAuth> {
    if (clientAuth === undefined) {
      const pending = createClientAuth(config);
      clientAuth = pending;
      pending.catch(() => {
        if (clientAuth === pending) clientAuth = undefined;
      });
    }
    return clientAuth;
  }

  function discover(): Promise<oauth.AuthorizationServer> {
    if (metadata !== undefined) return metadata;
    const attempt = (async () => {
      try {
        const response = await oauth.discoveryRequest(config.issuer, httpOptions);
        const as = await oauth.processDiscoveryResponse(config.issuer, response);
        if (as.authorization_endpoint === undefined || as.token_endpoint === undefined) {
          throw new OidcError("invalid_response", "Discovery document lacks endpoints");
        }
        const refusal = backChannelRefusal(as, config.issuer, config);
        if (refusal !== undefined) {
          throw new OidcError("invalid_response", `Discovery document ${refusal}`);
        }
        return as;
      } catch (error) {
        throw toOidcError(error, "discovery");
      }
    })();
    metadata = attempt;
    attempt.then((as) => {
      if (metadata === attempt) discovered = as;
      ready = true;
    }, () => {
      // Forget the failure so that the next call tries again.
      if (metadata === attempt) metadata = undefined;
      ready = false;
    });
    return attempt;
  }

  /**
   * Verifies the ID token signature. An unknown `kid` usually means the IdP rotated its keys;
   * oauth4webapi caches the JWKS per metadata object, so the check is repeated against the
   * current metadata. If `as` is still that, it is dropped first so that discovery and the JWKS
   * are fetched again, at most every ROTATION_REFETCH_INTERVAL_MS (a kid the IdP never had must
   * not make us hammer it). If not, another request has fetched them again since `as` was taken,
   * or is doing so (joined): the limit throttles fetching only, never that second check.
   */
  async function verifySignature(as: oauth.AuthorizationServer, response: Response) {
    let failure = await signatureFailure(as, response);
    if (isKeyMissing(failure)) {
      // No await from the check to the drop: requests failing at once force a single fetch.
      if (
        as === discovered &&
        clock.monotonic() - lastForcedRefetch >= ROTATION_REFETCH_INTERVAL_MS
      ) {
        lastForcedRefetch = clock.monotonic();
        log.info("ID token signed with an unknown key: fetching the IdP keys again");
        metadata = undefined;
      }
      const current = await discover();
      if (current !== as) failure = await signatureFailure(current, response);
    }
    if (failure !== undefined) throw toOidcError(failure, "id_token");
  }

  /** What checking the ID token signature against `as` throws; undefined when it holds. */
  async function signatureFailure(
    as: oauth.AuthorizationServer,
    response: Response,
  ): Promise<unknown> {
    try {
      await oauth.validateApplicationLevelSignature(as, response, httpOptions);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  async function userinfo(
    as: oauth.AuthorizationServer,
    accessToken: string,
    subject: string,
  ): Promise<Record<string, unknown>> {
    try {
      const response = await oauth.userInfoRequest(as, client(), accessToken, httpOptions);
      return { ...await oauth.processUserInfoResponse(as, client(), subject, response) };
    } catch (error) {
      throw toOidcError(error, "userinfo");
    }
  }

  function refreshExpiry(tokens: Readonly<Record<string, unknown>>): number | undefined {
    const seconds = tokens.refresh_expires_in;
    return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0
      ? now() + seconds * 1000
      : undefined;
  }

  /**
   * The refresh token a granted refresh answered with, for an error to carry (OidcError.rotated).
   * Also read from a body oauth4webapi refused, so it trusts no shape: a non-empty string only.
   */
  function rotation(body: unknown): OidcError["rotated"] {
    if (typeof body !== "object" || body === null) return undefined;
    const granted = body as Record<string, unknown>;
    if (typeof granted.refresh_token !== "string" || granted.refresh_token === "") return undefined;
    return { refreshToken: granted.refresh_token, refreshExpiresAt: refreshExpiry(granted) };
  }

  async function startLogin(stateTag: string): Promise<LoginStart> {
    const as = await discover();
    const state = `${stateTag}.${random()}`;
    const nonce = random();
    const codeVerifier = random();
    const url = authorizationUrl(as.authorization_endpoint!, config, redirectUri, {
      state,
      nonce,
      codeVerifier,
    });
    return { url, state, nonce, codeVerifier };
  }

  async function finishLogin(callbackUrl: URL, expected: LoginExpectation): Promise<LoginResult> {
    const as = await discover();
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, client(), callbackUrl, expected.state);
    } catch (error) {
      throw toOidcError(error, "callback");
    }

    const authentication = await auth();
    let response: Response;
    let tokens: oauth.TokenEndpointResponse;
    try {
      response = await oauth.authorizationCodeGrantRequest(
        as,
        client(),
        authentication,
        params,
        redirectUri,
        expected.codeVerifier,
        httpOptions,
      );
      const maxAge = maxAgeOf(config.authorizeParams);
      tokens = await oauth.processAuthorizationCodeResponse(as, client(), response, {
        expectedNonce: expected.nonce,
        requireIdToken: true,
        // max_age also travels through the browser: its auth_time is checked here.
        ...(maxAge === undefined ? {} : { maxAge }),
      });
    } catch (error) {
      // The request and its answer's checks: a refused client is told apart from a bad token.
      throw toOidcError(error, "code_exchange", config.clientAuthMethod);
    }
    await verifySignature(as, response);

    const idClaims = oauth.getValidatedIdTokenClaims(tokens)!;
    checkIssuedAt("code_exchange", idClaims.iat, nowSec(), config.clockToleranceSec);
    if (promptsLogin(config.authorizeParams) && expected.since !== undefined) {
      const authTime = idClaims.auth_time;
      if (
        typeof authTime !== "number" ||
        authTime < Math.floor(expected.since / 1000) - config.clockToleranceSec
      ) {
        throw idTokenRefused(
          "code_exchange",
          typeof authTime !== "number"
            ? missingAuthTimeAdvice("prompt=login")
            : "authorize_params has prompt=login, but the ID token's auth_time says the user did " +
              "not sign in at the identity provider for this login (the parameter was dropped on " +
              "the way)",
        );
      }
    }
    let claims: Record<string, unknown> = { ...idClaims };
    if (config.useUserinfo) {
      claims = merge(claims, await userinfo(as, tokens.access_token, idClaims.sub));
    }
    return {
      claims,
      subject: idClaims.sub,
      sid: typeof idClaims.sid === "string" ? idClaims.sid : undefined,
      refreshToken: tokens.refresh_token,
      refreshExpiresAt: refreshExpiry(tokens),
      idToken: tokens.id_token!,
    };
  }

  async function refresh(refreshToken: string, expectedSubject: string): Promise<RefreshResult> {
    const as = await discover();
    const authentication = await auth();
    let response: Response;
    try {
      response = await oauth.refreshTokenGrantRequest(
        as,
        client(),
        authentication,
        refreshToken,
        httpOptions,
      );
    } catch (error) {
      throw toOidcError(error, "refresh");
    }
    // A grant oauth4webapi refuses (the new ID token's iss, aud, exp; the token_type) may still
    // carry a new refresh token, and the IdP has then rotated the presented one out: its body is
    // read again below. The response is buffered (timedFetch), so the copy costs no request.
    const granted = response.ok ? response.clone() : undefined;
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await oauth.processRefreshTokenResponse(as, client(), response);
    } catch (error) {
      if (response.status >= 400 && response.status < 500) {
        const cause = evidence(error);
        const refused = `HTTP ${response.status} ${cause.error ?? "(no error body)"}`;
        if (grantGone(response.status, cause.error)) {
          throw new IdpRejectedError(`IdP refused the refresh: ${refused}`, { cause });
        }
        throw new OidcError(
          "idp_error",
          `IdP refused the refresh request itself (${refused}): check the client's credentials ` +
            `and settings at the IdP and the token endpoint` +
            `${
              signedJwtRefusal({ ...cause, status: response.status }, config.clientAuthMethod)
            }; ` +
            "the sessions are kept",
          { cause },
        );
      }
      const failure = toOidcError(error, "refresh");
      // Only a granted (2xx) answer rotates; a refusal's refresh_token field means nothing.
      const rotated = rotation(await granted?.json().catch(() => undefined));
      if (rotated !== undefined) failure.rotated = rotated;
      throw failure;
    }

    let claims: Record<string, unknown> | undefined;
    try {
      claims = await refreshedClaims(as, response, tokens, expectedSubject);
    } catch (error) {
      const failure = error instanceof OidcError ? error : toOidcError(error, "refresh");
      const rotated = rotation(tokens);
      if (rotated !== undefined) failure.rotated = rotated;
      throw failure;
    }
    return {
      claims,
      refreshToken: tokens.refresh_token ?? refreshToken,
      refreshExpiresAt: refreshExpiry(tokens),
      idToken: tokens.id_token,
    };
  }

  /** What a granted refresh says about the user now: its ID token, userinfo, or nothing. */
  async function refreshedClaims(
    as: oauth.AuthorizationServer,
    response: Response,
    tokens: oauth.TokenEndpointResponse,
    expectedSubject: string,
  ): Promise<Record<string, unknown> | undefined> {
    const idClaims = oauth.getValidatedIdTokenClaims(tokens);
    if (idClaims !== undefined) {
      await verifySignature(as, response);
      checkIssuedAt("refresh", idClaims.iat, nowSec(), config.clockToleranceSec);
      if (idClaims.sub !== expectedSubject) {
        throw idTokenRefused("refresh", "it is about another subject");
      }
      const claims = { ...idClaims };
      if (!config.useUserinfo) return claims;
      return merge(claims, await userinfo(as, tokens.access_token, expectedSubject));
    }
    // No ID token (OIDC Core 12.2 allows it): userinfo is the only word on the user now.
    if (as.userinfo_endpoint !== undefined) {
      return await userinfo(as, tokens.access_token, expectedSubject);
    }
    return undefined;
  }

  async function revoke(refreshToken: string): Promise<void> {
    if (!config.revokeRefreshTokens) return;
    const as = await discover();
    if (as.revocation_endpoint === undefined) return;
    const authentication = await auth();
    try {
      const response = await oauth.revocationRequest(
        as,
        client(),
        authentication,
        refreshToken,
        { ...backgroundHttpOptions, additionalParameters: { token_type_hint: "refresh_token" } },
      );
      await oauth.processRevocationResponse(response);
    } catch (error) {
      throw toOidcError(error, "revocation");
    }
  }

  const waitedFetch = httpOptions[oauth.customFetch];

  return {
    get ready() {
      return ready;
    },
    discover,
    startLogin,
    finishLogin,
    refresh,
    revoke,
    get: (url, headers) =>
      waitedFetch(url, {
        method: "GET",
        headers: Object.fromEntries(new Headers(headers)),
        redirect: "manual",
      }),
    close: () => gate.close(),
  };
}

function merge(
  idClaims: Record<string, unknown>,
  userinfo: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...idClaims };
  for (const [name, value] of Object.entries(userinfo)) {
    if (!PROTOCOL_CLAIMS.has(name)) merged[name] = value;
  }
  return merged;
}

/**
 * OpenID Connect's errors that only the user can clear, in a browser (Core 3.1.2.6). Entra ID
 * answers a refresh with `interaction_required` when Conditional Access now wants MFA, and with
 * `login_required` or `consent_required` when the user must sign in or consent again.
 */
const USER_ACTION_ERRORS: ReadonlySet<string> = new Set([
  "interaction_required",
  "login_required",
  "account_selection_required",
  "consent_required",
]);

/**
 * Whether a refused refresh means the user's grant is gone, so that the session ends:
 * `invalid_grant`, an error only the user can clear by signing in again (USER_ACTION_ERRORS),
 * a 400 `invalid_request` (Dex's answer to a refresh token it deleted, one used twice or expired;
 * the request is the same for every refresh, so only its token can be what is wrong; not with
 * another status: Keycloak's 403 "HTTPS required" behind a proxy it stopped trusting is the IdP's
 * set-up, and would end every session re-checked), a 400 `invalid_scope` (the request names no
 * scope, so the grant no longer covers its own: Keycloak's answer once the user withdrew consent,
 * or the client was made to require consent or given more default scopes; keeping the session
 * would deny the client until it expired, where signing in again, consenting, lets it back), or a
 * bare 400 without an OAuth error (Glewlwyd answers a revoked refresh token so). Another OAuth error (`invalid_client` after the client secret was rotated, also as
 * a `WWW-Authenticate` challenge; `unauthorized_client`), a bare 401 or 403 (the usual answer to
 * a client that did not authenticate, or a proxy's) or a 404/405 refuses our request, not the
 * grant: ending every session re-checked meanwhile would log everybody out for a configuration
 * mistake, so the client is denied and its session kept.
 */
function grantGone(status: number, oauthError: string | undefined): boolean {
  if (oauthError !== undefined) {
    return oauthError === "invalid_grant" || USER_ACTION_ERRORS.has(oauthError) ||
      ((oauthError === "invalid_request" || oauthError === "invalid_scope") && status === 400);
  }
  return status === 400;
}

/** Whether oauth4webapi found no key for the ID token in the JWKS it holds for the metadata. */
function isKeyMissing(error: unknown): boolean {
  return error instanceof oauth.OperationProcessingError && error.code === oauth.KEY_SELECTION;
}

/** Whether `authorize_params.prompt` asks the IdP to authenticate the user again. */
function promptsLogin(params: Readonly<Record<string, string>>): boolean {
  return (params["prompt"] ?? "").split(" ").includes("login");
}
