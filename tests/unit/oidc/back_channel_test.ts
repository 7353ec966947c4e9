import { assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { OidcError } from "../../../src/oidc/errors.ts";
import { callbackFor, FakeIdp, oidcConfig, REDIRECT_URI } from "./fake_idp.ts";

/** A development issuer (allowed plain http) and another host, reached over a network. */
const LOOPBACK = "http://127.0.0.1:8080/realms/vpn";
const ELSEWHERE = "sso.corp.example";
const PATHS = {
  authorization_endpoint: "/protocol/openid-connect/auth",
  token_endpoint: "/protocol/openid-connect/token",
  jwks_uri: "/protocol/openid-connect/certs",
  userinfo_endpoint: "/protocol/openid-connect/userinfo",
  revocation_endpoint: "/protocol/openid-connect/revoke",
};
type Endpoint = keyof typeof PATHS;

/** The fake IdP as LOOPBACK, its endpoints at LOOPBACK but for those in `moved`. */
async function loopbackIdp(moved: Partial<Record<Endpoint, string>> = {}): Promise<FakeIdp> {
  const idp = await FakeIdp.create();
  idp.idTokenClaims = { iss: LOOPBACK };
  idp.metadataExtras = { issuer: LOOPBACK };
  for (const [name, path] of Object.entries(PATHS)) {
    idp.metadataExtras[name] = `${moved[name as Endpoint] ?? LOOPBACK}${path}`;
  }
  return idp;
}

function hostsAsked(idp: FakeIdp): string[] {
  return [...new Set(idp.requests.map((request) => request.url.origin))].sort();
}

Deno.test("createOidcClient() with a loopback http issuer refuses a document naming a back-channel endpoint over plain http on another host: no request reaches that host", async () => {
  for (const name of ["token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint"]) {
    const idp = await loopbackIdp({ [name]: `http://${ELSEWHERE}/realms/vpn` });
    const client = createOidcClient(oidcConfig({ issuer: new URL(LOOPBACK) }), REDIRECT_URI, {
      fetch: idp.fetch,
    });
    const refused = await assertRejects(() => client.startLogin("tag"), OidcError);
    assertEquals(refused.code, "invalid_response");
    assertStringIncludes(
      refused.message,
      "Discovery document names endpoints the service refuses to call (it calls https, or " +
        `plain http to a loopback host): ${name} http://${ELSEWHERE}`,
    );
    const start = { state: "s", nonce: "n", codeVerifier: "v" };
    await assertRejects(() => client.finishLogin(callbackFor(idp, start), start), OidcError);
    await assertRejects(() => client.refresh("refresh-token-1", idp.subject), OidcError);
    await assertRejects(() => client.revoke("refresh-token-1"), OidcError);
    // What other parts fetch through the client (the logout tokens' keys) meets the rule too.
    await assertRejects(
      () => client.get(`http://${ELSEWHERE}/realms/vpn${PATHS.jwks_uri}`, {}),
      OidcError,
      `Not fetched: http://${ELSEWHERE}: it calls https, or plain http to a loopback host`,
    );
    assertEquals(client.ready, false);
    assertEquals(hostsAsked(idp), ["http://127.0.0.1:8080"], name);
  }
});

Deno.test("createOidcClient() with a loopback http issuer signs in over https on another host and plain http on a loopback one; an unused revocation endpoint is not judged", async () => {
  const idp = await loopbackIdp({
    token_endpoint: `https://${ELSEWHERE}/realms/vpn`,
    jwks_uri: "http://localhost:8080/realms/vpn",
    userinfo_endpoint: "http://[::1]:8080/realms/vpn",
    revocation_endpoint: `http://${ELSEWHERE}/realms/vpn`,
  });
  const config = oidcConfig({
    issuer: new URL(LOOPBACK),
    useUserinfo: true,
    revokeRefreshTokens: false,
  });
  const client = createOidcClient(config, REDIRECT_URI, { fetch: idp.fetch });
  const start = await client.startLogin("tag");
  const result = await client.finishLogin(callbackFor(idp, start), start);
  assertEquals(result.subject, idp.subject);
  await client.revoke(result.refreshToken!);
  assertEquals(hostsAsked(idp), [
    "http://127.0.0.1:8080",
    "http://[::1]:8080",
    "http://localhost:8080",
    `https://${ELSEWHERE}`,
  ]);
});

Deno.test("createOidcClient() with an https issuer refuses a document naming any plain http back-channel endpoint, loopback or not", async () => {
  for (const host of [`http://${ELSEWHERE}`, "http://127.0.0.1:8080"]) {
    const idp = await FakeIdp.create();
    idp.metadataExtras = { userinfo_endpoint: `${host}${PATHS.userinfo_endpoint}` };
    const client = createOidcClient(oidcConfig(), REDIRECT_URI, { fetch: idp.fetch });
    await assertRejects(
      () => client.discover(),
      OidcError,
      `refuses to call (it calls https only): userinfo_endpoint ${host}`,
    );
    assertEquals(hostsAsked(idp), ["https://idp.test"]);
  }
});
