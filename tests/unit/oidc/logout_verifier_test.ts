/** createLogoutVerifier(): the keys come from the jwks_uri that discovery names now. */
import { exportJWK, generateKeyPair } from "jose";
import type { AuthorizationServer } from "oauth4webapi";
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { createLogoutVerifier } from "../../../src/oidc/logout_verifier.ts";
import { LogoutTokenError } from "../../../src/oidc/logout_token.ts";
import { CLIENT_ID, ISSUER, keys, logoutClaims, NOW, sign, TOLERANCE } from "./logout_fixtures.ts";

/** A verifier whose IdP metadata and published key sets (by URL) a test can change. */
function verifierFor(idp: { as: AuthorizationServer; jwks: Map<string, unknown> }) {
  return createLogoutVerifier(
    {
      issuer: new URL(ISSUER),
      clientId: CLIENT_ID,
      clockToleranceSec: TOLERANCE,
      httpTimeoutMs: 1000,
    },
    {
      discover: () => Promise.resolve(idp.as),
      get: (url) => {
        const set = idp.jwks.get(url);
        return Promise.resolve(
          set === undefined ? new Response("Not Found", { status: 404 }) : Response.json(set),
        );
      },
      now: () => NOW,
    },
  );
}

Deno.test("createLogoutVerifier() reads the keys at the jwks_uri discovery names now, not at the one it named before", async () => {
  // EC: generated much faster than another RSA pair.
  const moved = await generateKeyPair("ES256");
  const movedJwk = { ...(await exportJWK(moved.publicKey)), kid: "k2", alg: "ES256", use: "sig" };
  const idp = {
    as: { issuer: ISSUER, jwks_uri: "https://idp.example.com/old/jwks" } as AuthorizationServer,
    jwks: new Map<string, unknown>([
      ["https://idp.example.com/old/jwks", keys.jwks],
      ["https://idp.example.com/new/jwks", { keys: [movedJwk] }],
    ]),
  };
  const verify = verifierFor(idp);
  assertEquals((await verify(await sign(logoutClaims()))).sid, "sso-1");
  // Rediscovered: the IdP moved its keys, and the old URL still serves the retired set.
  idp.as = { issuer: ISSUER, jwks_uri: "https://idp.example.com/new/jwks" };
  const current = await sign(logoutClaims({ sid: "sso-2" }), {
    key: moved.privateKey,
    alg: "ES256",
    kid: "k2",
  });
  assertEquals((await verify(current)).sid, "sso-2");
  // A token signed by the retired key no longer ends anything.
  await assertRejects(async () => verify(await sign(logoutClaims())), LogoutTokenError);
});
