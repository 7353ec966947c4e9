/**
 * A wrong client secret at the first sign-in, against the Keycloak-like test IdP: with
 * client_secret_basic it answers a `WWW-Authenticate` challenge, with client_secret_post an
 * invalid_client body. Either way the message the login log carries names the code exchange,
 * HTTP 401 invalid_client and the keys to fix, and neither secret.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { OidcError } from "../../../src/oidc/errors.ts";
import { loginOverHttp, startTestIdp } from "../../support/idp/mod.ts";
import { oidcConfig } from "../../unit/oidc/fake_idp.ts";

const REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback";
const RIGHT_SECRET = "the-right-secret";
const WRONG_SECRET = "a-wrong-secret";

for (const method of ["client_secret_basic", "client_secret_post"] as const) {
  Deno.test(`a wrong client secret (${method}) fails the code exchange with a message naming the refused credentials`, async () => {
    const idp = await startTestIdp({
      clients: [{
        clientId: "vpn-bridge",
        clientSecret: RIGHT_SECRET,
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: method,
      }],
    });
    try {
      const client = createOidcClient(
        oidcConfig({
          issuer: new URL(idp.issuer),
          clientId: "vpn-bridge",
          clientSecret: new Secret(WRONG_SECRET),
          clientAuthMethod: method,
          httpTimeoutMs: 5000,
        }),
        REDIRECT_URI,
      );
      const start = await client.startLogin("tag");
      const callback = await loginOverHttp(start.url, {
        username: "alice",
        password: "alice-password",
        redirectUri: REDIRECT_URI,
      });
      const error = await assertRejects(() => client.finishLogin(callback, start), OidcError);
      assertStringIncludes(
        error.message,
        `IdP refused the client's credentials (${method}) at the code exchange (token request): ` +
          "HTTP 401 invalid_client: check oidc.client_secret and oidc.client_auth_method",
      );
      assertStringIncludes(error.message, "check-config --probe");
      for (const text of [error.message, error.reason, JSON.stringify(error.cause)]) {
        assert(!text.includes(WRONG_SECRET) && !text.includes(RIGHT_SECRET), text);
      }
      assertEquals(error.reason, "Invalid response from the identity provider");
    } finally {
      await idp.stop();
    }
  });
}
