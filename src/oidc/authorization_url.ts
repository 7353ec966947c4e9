/**
 * The authorization request (OIDC Core 3.1.2.1 with PKCE, RFC 7636) as a URL, built without
 * I/O: the service sends users there, and `check-config --probe` sends the same request to see
 * whether the IdP accepts it.
 */
import { createHash } from "node:crypto";
import type { OidcConfig } from "../config/types.ts";
import { RESERVED_AUTHORIZE_PARAMS } from "./config_checks.ts";

/** The per-login values of one request. */
export interface AuthorizationValues {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * The URL of an authorization request to `endpoint`. The endpoint's own query parameters are
 * kept (RFC 6749 3.1); `authorize_params` come next, then the protocol values, which no
 * configured parameter can replace.
 */
export function authorizationUrl(
  endpoint: string,
  config: Pick<OidcConfig, "clientId" | "scopes" | "authorizeParams">,
  redirectUri: string,
  values: AuthorizationValues,
): URL {
  const url = new URL(endpoint);
  // Set on a detached copy: each `url.searchParams.set` would serialize the URL again.
  const query = new URLSearchParams(url.search);
  for (const [name, value] of Object.entries(config.authorizeParams)) {
    if (!RESERVED_AUTHORIZE_PARAMS.has(name.toLowerCase())) query.set(name, value);
  }
  query.set("client_id", config.clientId);
  query.set("redirect_uri", redirectUri);
  query.set("response_type", "code");
  query.set("scope", config.scopes.join(" "));
  query.set("state", values.state);
  query.set("nonce", values.nonce);
  query.set("code_challenge", pkceChallenge(values.codeVerifier));
  query.set("code_challenge_method", "S256");
  url.search = query.toString();
  return url;
}

/**
 * The S256 code challenge (RFC 7636 4.2). Hashed synchronously: WebCrypto's digest hands each
 * 43-byte verifier to a worker thread and back, which costs more than the hash.
 */
function pkceChallenge(codeVerifier: string): string {
  return createHash("sha256").update(codeVerifier).digest("base64url");
}
