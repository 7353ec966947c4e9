/**
 * authorizationUrl(): the protocol values are the bridge's alone. checkOidcConfig refuses a
 * reserved name in `authorize_params` at load; the URL is built without them all the same, so
 * that a caller with an unchecked config (check-config --probe builds the same request) cannot
 * send the IdP a `response_mode` or a request object the callback was never meant to read.
 */
import { assertEquals } from "../../support/assert.ts";
import { authorizationUrl } from "../../../src/oidc/authorization_url.ts";
import { RESERVED_AUTHORIZE_PARAMS } from "../../../src/oidc/config_checks.ts";

const VALUES = { state: "the-state", nonce: "the-nonce", codeVerifier: "v".repeat(43) };

Deno.test("authorizationUrl() sends no reserved name from authorize_params, in any case, and keeps the rest", () => {
  const authorizeParams: Record<string, string> = { prompt: "login" };
  for (const name of RESERVED_AUTHORIZE_PARAMS) authorizeParams[name.toUpperCase()] = "evil";
  authorizeParams["response_mode"] = "form_post";
  authorizeParams["request_uri"] = "https://attacker.test/request";
  const url = authorizationUrl(
    "https://idp.test/auth",
    { clientId: "vpn", scopes: ["openid"], authorizeParams },
    "https://vpn.test/oauth2/callback",
    VALUES,
  );
  assertEquals([...url.searchParams.keys()].sort(), [
    "client_id",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
  ]);
  assertEquals(url.searchParams.get("state"), "the-state");
  assertEquals(url.searchParams.get("code_challenge_method"), "S256");
});
