/** The test IdP itself behaves like the Keycloak setup the bridge documents. */
import { assert, assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { loginOverHttp, startTestIdp } from "../../support/idp/mod.ts";

const REDIRECT_URI = "http://127.0.0.1:9/cb";

Deno.test("startTestIdp() serves Keycloak-style discovery under /realms/<realm>", async () => {
  const idp = await startTestIdp({ realm: "corp" });
  try {
    assertEquals(idp.issuer, `http://127.0.0.1:${idp.port}/realms/corp`);
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    const metadata = await response.json();
    assertEquals(metadata.issuer, idp.issuer);
    assertEquals(metadata.code_challenge_methods_supported, ["S256"]);
    assert(String(metadata.revocation_endpoint).startsWith(idp.issuer));
    assert(String(metadata.userinfo_endpoint).startsWith(idp.issuer));
    assert(metadata.token_endpoint_auth_methods_supported.includes("private_key_jwt"));
    const jwks = await (await fetch(metadata.jwks_uri)).json();
    assertEquals(jwks.keys[0].kid, idp.jwks.keys[0]!.kid);
    assertEquals(jwks.keys[0].d, undefined);
  } finally {
    await idp.stop();
  }
});

Deno.test("startTestIdp() requires PKCE even for confidential clients", async () => {
  const idp = await startTestIdp();
  try {
    idp.addClient({ clientId: "late", clientSecret: "s", redirectUris: [REDIRECT_URI] });
    const url = new URL(`${idp.issuer}/auth`);
    url.searchParams.set("client_id", "late");
    url.searchParams.set("redirect_uri", REDIRECT_URI);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("scope", "openid");
    url.searchParams.set("state", "s1");
    const callback = await loginOverHttp(url, { username: "alice", password: "alice-password" });
    assertEquals(callback.searchParams.get("error"), "invalid_request");
    assertMatch(callback.searchParams.get("error_description") ?? "", /PKCE/);
  } finally {
    await idp.stop();
  }
});

Deno.test("stop() closes kept-alive connections", async () => {
  const idp = await startTestIdp();
  const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
  await response.body?.cancel();
  await idp.stop();
  await assertRejects(() => fetch(`${idp.issuer}/.well-known/openid-configuration`));
});
