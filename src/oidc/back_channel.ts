/**
 * Where the service may send its own requests to the IdP (the back channel): the one rule that
 * the service (client.ts, at discovery and at every request) and `check-config --probe`
 * (checks.ts, probe.ts, token_request.ts) both apply. Over the back channel travel the client secret or assertion,
 * codes, refresh and access tokens, so it is https, with plain http allowed only where no network
 * sees it: a loopback http issuer (development) may name plain http endpoints on a loopback host,
 * never on another host.
 *
 * Not back channel: the authorization endpoint is the browser's to open (the request carries only
 * public values: client_id, redirect_uri, state, nonce, the PKCE challenge; the code comes back to
 * base_url, and is worth nothing without the PKCE verifier and the client's credentials, which go
 * only to the token endpoint), and the bridge never calls end_session_endpoint.
 */
import { isLoopbackHttp } from "../loopback.ts";

/**
 * The discovery document members the service calls itself, from this host. userinfo even with
 * oidc.use_userinfo off: a refresh answered without an ID token reads it (client.ts).
 */
export type BackChannelEndpoint =
  | "token_endpoint"
  | "jwks_uri"
  | "userinfo_endpoint"
  | "revocation_endpoint";

const BACK_CHANNEL: readonly BackChannelEndpoint[] = [
  "token_endpoint",
  "jwks_uri",
  "userinfo_endpoint",
  "revocation_endpoint",
];

/** What the configuration makes the service call besides the always used endpoints. */
export interface BackChannelNeeds {
  /** oidc.revoke_refresh_tokens: off, the revocation endpoint is never called. */
  readonly revokeRefreshTokens: boolean;
}

/**
 * oauth4webapi's `allowInsecureRequests` for this issuer. The flag lets plain http through to
 * any host, so it is only safe behind the rule: every endpoint the service calls passed
 * backChannelRefusal at discovery, and every request it sends passes requestRefusal.
 */
export function plainHttpAllowed(issuer: URL): boolean {
  return isLoopbackHttp(issuer);
}

/** Whether the service may send a request to `url` for the IdP `issuer`. */
function backChannelAllowed(url: string, issuer: URL): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === "https:" || (plainHttpAllowed(issuer) && isLoopbackHttp(parsed));
}

/**
 * Why the service sends no request to `url` ("http://sso.corp.example: it calls https only"), or
 * undefined when it may.
 */
export function requestRefusal(url: string, issuer: URL): string | undefined {
  return backChannelAllowed(url, issuer) ? undefined : `${where(url)}: ${rule(issuer)}`;
}

/** The rule as the refusals state it. */
function rule(issuer: URL): string {
  return plainHttpAllowed(issuer)
    ? "it calls https, or plain http to a loopback host"
    : "it calls https only";
}

/**
 * Why the service would refuse every request to the endpoints that `endpoints` (a discovery
 * document's members) names: "names endpoints the service refuses to call (...): token_endpoint
 * http://sso.corp.example, ..." with each refused member's scheme and host; undefined when it
 * would call them all. An absent member is left to the checks that need it; one that is no URL
 * is refused.
 */
export function backChannelRefusal(
  endpoints: Readonly<Partial<Record<string, unknown>>>,
  issuer: URL,
  needs: BackChannelNeeds,
): string | undefined {
  const refused = BACK_CHANNEL.flatMap((name) => {
    if (name === "revocation_endpoint" && !needs.revokeRefreshTokens) return [];
    const value = endpoints[name];
    if (value === undefined || backChannelAllowed(String(value), issuer)) return [];
    return [`${name} ${where(String(value))}`];
  });
  return refused.length === 0
    ? undefined
    : `names endpoints the service refuses to call (${rule(issuer)}): ${refused.join(", ")}`;
}

/** A URL's scheme and host, which is what the rule looks at (the path can be long). */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "(not a URL)";
  }
}
