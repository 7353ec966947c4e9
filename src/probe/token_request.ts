/**
 * The probe's one token request: an authorization_code grant with a made-up code, the real
 * redirect URI and the client authentication the service sends (createClientAuth), through the
 * service's IdP fetch (deadline, body cap). A made-up code cannot be redeemed, so nothing is
 * issued or changed at the IdP; Keycloak records a CODE_TO_TOKEN_ERROR event. checks.ts judges
 * the answer (clientAuthCheck).
 */
import * as oauth from "oauth4webapi";
import type { ResolvedConfig } from "../config/types.ts";
import { plainHttpAllowed } from "../oidc/back_channel.ts";
import { createClientAuth } from "../oidc/client_auth.ts";
import type { timedFetch } from "../oidc/http.ts";
import { authMethodListed, type ClientAuthOutcome } from "./checks.ts";

/** An IdP's error_description is shown only this far. */
const DESCRIPTION_CHARS = 200;
/** A compact JWS (a client assertion an IdP might echo; its header is JSON, so "eyJ"). */
const COMPACT_JWS = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

export async function requestToken(
  as: oauth.AuthorizationServer,
  config: ResolvedConfig["oidc"],
  redirectUri: string,
  request: ReturnType<typeof timedFetch>,
): Promise<ClientAuthOutcome> {
  const supported = as.token_endpoint_auth_methods_supported;
  if (!authMethodListed(config.clientAuthMethod, supported)) {
    return { kind: "unsupported", supported: (supported as unknown[]).map(String) };
  }
  let authentication: oauth.ClientAuth;
  try {
    authentication = await createClientAuth(config);
  } catch (error) {
    return { kind: "not-built", message: (error as Error).message };
  }
  const client: oauth.Client = { client_id: config.clientId };
  // The callback a browser would bring, so that the grant is built as the service builds it.
  const state = oauth.generateRandomState();
  const callback = new URL(redirectUri);
  callback.searchParams.set("code", oauth.generateRandomState());
  callback.searchParams.set("state", state);
  if (as.authorization_response_iss_parameter_supported) {
    callback.searchParams.set("iss", as.issuer);
  }
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      authentication,
      oauth.validateAuthResponse(as, client, callback, state),
      redirectUri,
      oauth.generateRandomCodeVerifier(),
      {
        [oauth.customFetch]: request,
        [oauth.allowInsecureRequests]: plainHttpAllowed(config.issuer),
      },
    );
    const { error, description } = oauthError(await response.text());
    return {
      kind: "answered",
      status: response.status,
      error,
      description: description === undefined ? undefined : scrub(description, config),
    };
  } catch (error) {
    return { kind: "failed", message: (error as Error).message };
  }
}

/** The OAuth error of a token endpoint answer (RFC 6749 5.2); nothing else of it is kept. */
function oauthError(text: string): { error?: string; description?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof body !== "object" || body === null) return {};
  const { error, error_description: description } = body as Record<string, unknown>;
  return {
    ...(typeof error === "string" ? { error } : {}),
    ...(typeof description === "string" ? { description } : {}),
  };
}

/** The IdP's words, shortened, without the secret or an assertion should it echo them. */
function scrub(text: string, config: ResolvedConfig["oidc"]): string {
  const secret = config.clientSecret?.reveal();
  const shown = secret === undefined || secret === "" ? text : text.replaceAll(secret, "***");
  return shown.replace(COMPACT_JWS, "***").slice(0, DESCRIPTION_CHARS);
}
