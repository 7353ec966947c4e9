/**
 * Checks of the `[oidc]` configuration that only this module knows how to judge. Config loading
 * calls `checkOidcConfig` and reports each problem with its key path; `createOidcClient` calls it
 * too and refuses to start on any problem.
 */
import type { ResolvedConfig } from "../config/types.ts";

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

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether plain HTTP is acceptable for this issuer: only on the loopback interface. */
export function isLoopbackHttp(issuer: URL): boolean {
  return issuer.protocol === "http:" && LOOPBACK_HOSTS.has(issuer.hostname);
}

export interface OidcConfigProblem {
  /** Key path below `oidc`, e.g. `authorize_params.state`. */
  key: string;
  message: string;
}

/** Returns every problem found; an empty list means the settings are usable. */
export function checkOidcConfig(config: ResolvedConfig["oidc"]): OidcConfigProblem[] {
  const problems: OidcConfigProblem[] = [];
  const { issuer } = config;
  if (issuer.protocol !== "https:" && !isLoopbackHttp(issuer)) {
    problems.push({
      key: "issuer",
      message: `Issuer must use https (plain http only on loopback): ${issuer.href}`,
    });
  }
  if (issuer.search !== "" || issuer.hash !== "") {
    problems.push({
      key: "issuer",
      message: `Issuer must not have a query or fragment: ${issuer.href}`,
    });
  }
  if (!config.scopes.includes("openid")) {
    problems.push({ key: "scopes", message: "Scopes must include openid" });
  }
  for (const name of reservedAuthorizeParams(config.authorizeParams)) {
    problems.push({
      key: `authorize_params.${name}`,
      message: `Parameter is set by the bridge and cannot be configured: ${name}`,
    });
  }
  const method = config.clientAuthMethod;
  if (
    (method === "client_secret_basic" || method === "client_secret_post") &&
    (config.clientSecret === undefined || config.clientSecret.reveal() === "")
  ) {
    problems.push({ key: "client_secret", message: `A client secret is required for ${method}` });
  }
  if (method === "private_key_jwt" && config.privateKey === undefined) {
    problems.push({ key: "private_key", message: "A private key is required for private_key_jwt" });
  }
  if (method === "private_key_jwt" && signingAlgorithm(config.privateKeyAlg) === undefined) {
    problems.push({
      key: "private_key_alg",
      message: `Unsupported private key algorithm: ${config.privateKeyAlg}`,
    });
  }
  if (!(config.httpTimeoutMs > 0)) {
    problems.push({ key: "http_timeout", message: "HTTP timeout must be positive" });
  }
  if (!(config.clockToleranceSec >= 0)) {
    problems.push({ key: "clock_tolerance", message: "Clock tolerance must not be negative" });
  }
  return problems;
}

type SigningAlgorithm = RsaHashedImportParams | EcKeyImportParams | RsaPssParams | Algorithm;

/** WebCrypto import parameters for a JWS algorithm name, or undefined when unsupported. */
export function signingAlgorithm(alg: string): SigningAlgorithm | undefined {
  switch (alg) {
    case "RS256":
    case "RS384":
    case "RS512":
      return { name: "RSASSA-PKCS1-v1_5", hash: `SHA-${alg.slice(2)}` };
    case "PS256":
    case "PS384":
    case "PS512":
      return { name: "RSA-PSS", hash: `SHA-${alg.slice(2)}` };
    case "ES256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "ES384":
      return { name: "ECDSA", namedCurve: "P-384" };
    case "ES512":
      return { name: "ECDSA", namedCurve: "P-521" };
    case "EdDSA":
    case "Ed25519":
      return { name: "Ed25519" };
    default:
      return undefined;
  }
}
