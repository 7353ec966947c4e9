/**
 * Checks of the `[oidc]` configuration that only this module knows how to judge. Config loading
 * calls `checkOidcConfig` and reports each problem with its key path; `createOidcClient` calls it
 * too and refuses to start on any problem. `oidcConfigWarnings` finds what is usable but likely a
 * mistake: check-config prints it, the service logs it at start and reload.
 */
import type { ClientAuthMethod, OidcConfig } from "../config/types.ts";
import { durationLimitsProblem } from "../config/duration.ts";
import { isLoopbackHttp } from "../loopback.ts";
import { keyCertificateProblem } from "./key_certificate.ts";
import { DEFAULT_PRIVATE_KEY_ALG, privateKeyProblem, signingAlgorithm } from "./private_key.ts";

/**
 * Authorization request parameters the bridge sets itself. Letting configuration override them
 * would break CSRF protection (state), replay protection (nonce), PKCE or the callback binding.
 */
export const RESERVED_AUTHORIZE_PARAMS: ReadonlySet<string> = new Set([
  "client_id",
  "redirect_uri",
  "response_type",
  "response_mode",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
  "request",
  "request_uri",
]);

/** Names in `params` that `authorize_params` must not set (compared case-insensitively). */
export function reservedAuthorizeParams(params: Record<string, string>): string[] {
  return Object.keys(params).filter((name) => RESERVED_AUTHORIZE_PARAMS.has(name.toLowerCase()));
}

/**
 * Standard authorization request parameters `authorize_params` may set (OIDC Core 3.1.2.1, 5.2,
 * 5.5, 7.2.1; RFC 8707, RFC 9396, RFC 9449). Parameter names are case-sensitive: the IdP ignores
 * `Prompt = "login"`, and the bridge checks auth_time only for `prompt` and `max_age` as spelt
 * here, so a miscased name would look in force while nothing enforces it.
 */
export const STANDARD_AUTHORIZE_PARAMS: ReadonlySet<string> = new Set([
  "prompt",
  "max_age",
  "login_hint",
  "acr_values",
  "ui_locales",
  "claims_locales",
  "display",
  "id_token_hint",
  "claims",
  "registration",
  "resource",
  "authorization_details",
  "dpop_jkt",
]);

/**
 * Names in `params` that differ from a standard parameter only in case, each with the spelling
 * meant. Reserved names are left to `reservedAuthorizeParams`, which refuses them in any case.
 */
export function miscasedAuthorizeParams(
  params: Record<string, string>,
): Array<{ name: string; meant: string }> {
  return Object.keys(params).flatMap((name) => {
    const meant = name.toLowerCase();
    return meant !== name && STANDARD_AUTHORIZE_PARAMS.has(meant) ? [{ name, meant }] : [];
  });
}

/**
 * Why `scope` cannot be one item of `scopes`, if it cannot. The request sends them joined by
 * spaces (RFC 6749, 3.3), so "openid profile" would go out as two scopes while the checks here
 * (openid included) saw one, and an empty one as a stray space.
 */
function scopeTokenProblem(scope: string): string | undefined {
  if (scope === "") return "Must not be empty";
  if (/\s/.test(scope)) {
    const items = scope.split(/\s+/).filter((item) => item !== "");
    return `Holds whitespace, but scopes are sent space-separated: write each as its own item, ` +
      `${items.map((item) => JSON.stringify(item)).join(", ")}`;
  }
  return undefined;
}

/**
 * `oidc.http_timeout`: not 0 (every IdP request would fail at once), and at most 10m, far below
 * the ~24.8 days past which a timer fires at once and would cut off every request as it started.
 */
export const IDP_HTTP_TIMEOUT_LIMITS_MS = { min: 1, max: 600_000 } as const;
/** `oidc.clock_tolerance` (whole seconds): more would accept ID and logout tokens long expired. */
export const CLOCK_TOLERANCE_LIMITS_MS = { min: 0, max: 600_000 } as const;

export interface OidcConfigProblem {
  /** Key path below `oidc`, e.g. `authorize_params.state`. */
  key: string;
  message: string;
}

/** Returns every problem found; an empty list means the settings are usable. */
export function checkOidcConfig(config: OidcConfig): OidcConfigProblem[] {
  const problems: OidcConfigProblem[] = [];
  const problem = (key: string, message: string) => problems.push({ key, message });
  const { issuer } = config;
  if (issuer.protocol !== "https:" && !isLoopbackHttp(issuer)) {
    problem(
      "issuer",
      `The issuer must use https:// (http:// is allowed only for loopback hosts), got "${issuer.href}"`,
    );
  }
  if (issuer.username !== "" || issuer.password !== "") {
    problem("issuer", "The issuer must not contain credentials");
  }
  // Not search and hash: they are "" for a bare "?" or "#", which the href keeps, and discovery
  // compares the issuer it is given with the href, so it would fail on every sign-in.
  if (/[?#]/.test(issuer.href)) {
    problem("issuer", "The issuer must not contain a query or fragment");
  }
  if (!config.scopes.includes("openid")) problem("scopes", 'Must include "openid"');
  config.scopes.forEach((scope, index) => {
    const scopeProblem = scopeTokenProblem(scope);
    if (scopeProblem !== undefined) problem(`scopes[${index}]`, scopeProblem);
  });
  for (const name of reservedAuthorizeParams(config.authorizeParams)) {
    problem(`authorize_params.${name}`, "Set by the bridge itself; it cannot be overridden");
  }
  for (const { name, meant } of miscasedAuthorizeParams(config.authorizeParams)) {
    problem(
      `authorize_params.${name}`,
      `Parameter names are case-sensitive: write "${meant}" (the IdP ignores "${name}")`,
    );
  }
  const method = config.clientAuthMethod;
  if (
    (method === "client_secret_basic" || method === "client_secret_post") &&
    (config.clientSecret === undefined || config.clientSecret.reveal() === "")
  ) {
    problem(
      "client_secret",
      `Required when client_auth_method is "${method}" (or set client_secret_file)`,
    );
  }
  if (method === "none" && config.clientSecret !== undefined) {
    problem("client_secret", 'Not used when client_auth_method is "none": remove it');
  }
  if (method === "private_key_jwt" && config.privateKey === undefined) {
    problem(
      "private_key",
      'Required when client_auth_method is "private_key_jwt": a PKCS#8 PEM key (or set private_key_file)',
    );
  }
  if (method === "private_key_jwt" && signingAlgorithm(config.privateKeyAlg) === undefined) {
    problem("private_key_alg", `Unsupported private key algorithm: ${config.privateKeyAlg}`);
  } else if (method === "private_key_jwt" && config.privateKey !== undefined) {
    const keyProblem = privateKeyProblem(config.privateKey.reveal(), config.privateKeyAlg);
    if (keyProblem !== undefined) problem("private_key", keyProblem);
  }
  // Settings only private_key_jwt reads: with another method they would be ignored in silence,
  // so an operator who set them (for Entra ID, say) would believe them in force. The message says
  // to remove the key, not to change the method: a client registered for a secret cannot sign in
  // with private_key_jwt.
  const unusedByMethod = (key: string, afterRemoval = "") =>
    problem(key, `${notReadBy(method)}: remove it${afterRemoval}`);
  const certificate = config.privateKeyCertificateFile;
  // "issuer" is the default, and what server.toml.example (the package's server.toml) sets with
  // client_secret_basic: it asks for nothing, and refusing it would stop installed services.
  if (config.clientAssertionAudience !== "issuer" && method !== "private_key_jwt") {
    unusedByMethod("client_assertion_audience", ', leaving the default "issuer"');
  }
  if (certificate !== undefined && method !== "private_key_jwt") {
    unusedByMethod("private_key_certificate_file");
  } else if (certificate !== undefined && config.privateKey !== undefined) {
    const certificateProblem = keyCertificateProblem(certificate.pem, config.privateKey.reveal());
    if (certificateProblem !== undefined) {
      problem("private_key_certificate_file", `${certificate.path}: ${certificateProblem}`);
    }
  }
  if (Number.isNaN(maxAgeOf(config.authorizeParams))) {
    problem(
      "authorize_params.max_age",
      `Expected whole seconds, e.g. "3600", got "${config.authorizeParams["max_age"]}"`,
    );
  }
  const timeoutProblem = durationLimitsProblem(config.httpTimeoutMs, IDP_HTTP_TIMEOUT_LIMITS_MS);
  if (timeoutProblem !== undefined) problem("http_timeout", timeoutProblem);
  const toleranceMs = config.clockToleranceSec * 1000;
  const toleranceProblem = durationLimitsProblem(toleranceMs, CLOCK_TOLERANCE_LIMITS_MS);
  if (toleranceProblem !== undefined) problem("clock_tolerance", toleranceProblem);
  return problems;
}

/** The start of the message about a key only private_key_jwt reads, set with another method. */
function notReadBy(method: ClientAuthMethod): string {
  return `Not used when client_auth_method is "${method}" (only ${SIGNS_IN_WITH.key.readers} it)`;
}

/** How the client is registered at the IdP for each kind of method, as warnings name it. */
const SIGNS_IN_WITH = {
  key: {
    readers: '"private_key_jwt" reads',
    method: "private_key_jwt",
    registered: 'a key (Keycloak: "Signed JWT")',
  },
  secret: {
    readers: '"client_secret_basic" and "client_secret_post" read',
    method: "client_secret_basic",
    registered: 'a secret (Keycloak: "Client Id and Secret")',
  },
} as const;

/**
 * What checkOidcConfig lets pass but is likely a mistake, each with its key path below `oidc`.
 * A private_key (or a private_key_alg other than the default) with another client_auth_method
 * is ignored: an operator who set it most likely meant private_key_jwt, and would believe the
 * key in use. Warned, not refused as private_key_certificate_file is: both have always been
 * accepted with any method, a config may carry the key ahead of a planned switch, and refusing it
 * now would stop installed services at the upgrade. The reverse too: a client_secret (or its
 * client_secret_file) with private_key_jwt, which signs with the key alone, is warned about, as
 * it has always been accepted. The message names the switch, with its condition (a client
 * registered for a secret cannot sign in with a key, nor the other way), and the removal.
 */
export function oidcConfigWarnings(config: OidcConfig): OidcConfigProblem[] {
  const method = config.clientAuthMethod;
  const unused = (
    key: string,
    by: (typeof SIGNS_IN_WITH)[keyof typeof SIGNS_IN_WITH],
    afterRemoval = "",
  ) => ({
    key,
    message: `Not used when client_auth_method is "${method}" (only ${by.readers} it): set ` +
      `client_auth_method = "${by.method}" if the client is registered at the IdP with ` +
      `${by.registered}, or remove it${afterRemoval}`,
  });
  if (method === "private_key_jwt") {
    return config.clientSecret === undefined
      ? []
      : [unused("client_secret", SIGNS_IN_WITH.secret, " (or client_secret_file)")];
  }
  return [
    ...(config.privateKey === undefined ? [] : [unused("private_key", SIGNS_IN_WITH.key)]),
    ...(config.privateKeyAlg === DEFAULT_PRIVATE_KEY_ALG ? [] : [
      unused(
        "private_key_alg",
        SIGNS_IN_WITH.key,
        `, leaving the default "${DEFAULT_PRIVATE_KEY_ALG}"`,
      ),
    ]),
  ];
}

/**
 * `authorize_params.max_age` in seconds (the ID token's auth_time is checked against it);
 * undefined when unset, NaN when not whole seconds (which checkOidcConfig refuses).
 */
export function maxAgeOf(params: Readonly<Record<string, string>>): number | undefined {
  const value = params["max_age"];
  if (value === undefined) return undefined;
  return /^\d{1,9}$/.test(value) ? Number(value) : NaN;
}
