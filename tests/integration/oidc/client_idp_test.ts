/** The OIDC client against the real (oidc-provider based) Keycloak-like test IdP over HTTP. */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
} from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { createOidcClient, type OidcClient } from "../../../src/oidc/client.ts";
import {
  AuthorizationResponseError,
  IdpRejectedError,
  OidcError,
} from "../../../src/oidc/errors.ts";
import {
  LoginFormError,
  loginOverHttp,
  startTestIdp,
  type TestClient,
  type TestIdp,
  type TestIdpOptions,
} from "../../support/idp/mod.ts";
import { oidcConfig } from "../../unit/oidc/fake_idp.ts";

const REDIRECT_URI = "http://127.0.0.1:9/oauth2/callback";
const CLIENT_SECRET = "bridge-secret";

function config(idp: TestIdp, overrides: Partial<ResolvedConfig["oidc"]> = {}) {
  return oidcConfig({
    issuer: new URL(idp.issuer),
    clientSecret: new Secret(CLIENT_SECRET),
    rolesClaim: "realm_access.roles",
    httpTimeoutMs: 5000,
    maxOpenRequests: 32,
    ...overrides,
  });
}

async function withIdp(
  fn: (idp: TestIdp, client: OidcClient) => Promise<void>,
  options: {
    client?: Partial<TestClient>;
    config?: Partial<ResolvedConfig["oidc"]>;
    idp?: Pick<TestIdpOptions, "idTokenOnRefresh" | "bareRefreshErrors" | "users">;
  } = {},
): Promise<void> {
  const idp = await startTestIdp({
    ...options.idp,
    clients: [{
      clientId: "vpn-bridge",
      clientSecret: CLIENT_SECRET,
      redirectUris: [REDIRECT_URI],
      ...options.client,
    }],
  });
  try {
    await fn(idp, createOidcClient(config(idp, options.config), REDIRECT_URI));
  } finally {
    await idp.stop();
  }
}

async function loginAs(client: OidcClient, username: string, password = `${username}-password`) {
  const start = await client.startLogin("tag");
  const callback = await loginOverHttp(start.url, {
    username,
    password,
    redirectUri: REDIRECT_URI,
  });
  return await client.finishLogin(callback, start);
}

Deno.test("alice logs in and gets Keycloak-shaped claims with full group paths and realm roles", async () => {
  await withIdp(async (idp, client) => {
    const result = await loginAs(client, "alice");
    assertEquals(result.subject, idp.users.get("alice")!.sub);
    assertEquals(result.claims.preferred_username, "alice");
    assertEquals(result.claims.email, "alice@example.com");
    assertEquals(result.claims.email_verified, true);
    assertEquals(result.claims.groups, ["/vpn-users", "/staff/vpn-admins"]);
    assertEquals(result.claims.realm_access, { roles: ["vpn-user"] });
    assertEquals(result.claims.resource_access, { "vpn-bridge": { roles: ["vpn-admin"] } });
    assertEquals(typeof result.sid, "string");
    assertEquals(typeof result.refreshToken, "string");
    assert(client.ready);
  });
});

Deno.test("a wrong password shows the form again and issues no code", async () => {
  await withIdp(async (_idp, client) => {
    const start = await client.startLogin("tag");
    const error = await loginOverHttp(start.url, {
      username: "alice",
      password: "wrong",
      redirectUri: REDIRECT_URI,
    }).then(() => undefined, (e: unknown) => e);
    assert(error instanceof LoginFormError);
    assertEquals(error.formError, "Invalid username or password.");
  });
});

Deno.test("refresh() returns a rotated refresh token and the old one stops working", async () => {
  await withIdp(async (_idp, client) => {
    const login = await loginAs(client, "alice");
    const refreshed = await client.refresh(login.refreshToken!, login.subject);
    assertNotEquals(refreshed.refreshToken, login.refreshToken);
    assertEquals(refreshed.claims?.groups, ["/vpn-users", "/staff/vpn-admins"]);
    const again = await client.refresh(refreshed.refreshToken, login.subject);
    assertNotEquals(again.refreshToken, refreshed.refreshToken);
    await assertRejects(() => client.refresh(login.refreshToken!, login.subject), IdpRejectedError);
  });
});

Deno.test("refresh() sees group changes made at the IdP", async () => {
  await withIdp(async (idp, client) => {
    const login = await loginAs(client, "alice");
    idp.setGroups("alice", ["/other"]);
    const refreshed = await client.refresh(login.refreshToken!, login.subject);
    assertEquals(refreshed.claims?.groups, ["/other"]);
  });
});

Deno.test("a disabled user's refresh fails with IdpRejectedError and their login is refused", async () => {
  await withIdp(async (idp, client) => {
    const login = await loginAs(client, "alice");
    idp.setDisabled("alice", true);
    const error = await assertRejects(
      () => client.refresh(login.refreshToken!, login.subject),
      IdpRejectedError,
    );
    assertEquals(error.code, "invalid_grant");
    const start = await client.startLogin("tag");
    const refused = await assertRejects(
      () => loginOverHttp(start.url, { username: "alice", password: "alice-password" }),
      LoginFormError,
    );
    assertMatch(refused.formError, /disabled/);
    idp.setDisabled("alice", false);
    assertEquals((await loginAs(client, "alice")).claims.preferred_username, "alice");
  });
});

Deno.test("revoke() ends the refresh token at the IdP", async () => {
  await withIdp(async (_idp, client) => {
    const login = await loginAs(client, "alice");
    await client.revoke(login.refreshToken!);
    await assertRejects(() => client.refresh(login.refreshToken!, login.subject), IdpRejectedError);
  });
});

Deno.test("with oidc.revoke_refresh_tokens off, revoke() sends nothing and the refresh token stays usable", async () => {
  // For a Keycloak that ends all of a user's sessions of the client on one revocation (#35486).
  await withIdp(async (_idp, client) => {
    const login = await loginAs(client, "alice");
    await client.revoke(login.refreshToken!);
    const refreshed = await client.refresh(login.refreshToken!, login.subject);
    assertEquals(refreshed.claims?.preferred_username, "alice");
  }, { config: { revokeRefreshTokens: false } });
});

Deno.test("Cancel on the login form ends in access_denied", async () => {
  await withIdp(async (_idp, client) => {
    const start = await client.startLogin("tag");
    const callback = await loginOverHttp(start.url, {
      username: "",
      password: "",
      cancel: true,
      redirectUri: REDIRECT_URI,
    });
    assertEquals(callback.searchParams.get("error"), "access_denied");
    const error = await assertRejects(
      () => client.finishLogin(callback, start),
      AuthorizationResponseError,
    );
    assertEquals(error.code, "access_denied");
  });
});

Deno.test("a user denied by IdP policy (erin) ends in access_denied", async () => {
  await withIdp(async (_idp, client) => {
    const start = await client.startLogin("tag");
    const callback = await loginOverHttp(start.url, {
      username: "erin",
      password: "erin-password",
      redirectUri: REDIRECT_URI,
    });
    const error = await assertRejects(
      () => client.finishLogin(callback, start),
      AuthorizationResponseError,
    );
    assertEquals(error.idpError, "access_denied");
  });
});

Deno.test("client_secret_post and userinfo work against the IdP", async () => {
  await withIdp(async (_idp, client) => {
    const result = await loginAs(client, "carol");
    assertEquals(result.claims.email_verified, false);
    assertEquals(result.claims.groups, ["/vpn-users"]);
  }, {
    client: { tokenEndpointAuthMethod: "client_secret_post" },
    config: { clientAuthMethod: "client_secret_post", useUserinfo: true },
  });
});

Deno.test("private_key_jwt client authentication works against the IdP", async () => {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const { key_ops: _ops, ext: _ext, ...publicJwk } = await crypto.subtle.exportKey(
    "jwk",
    pair.publicKey,
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  let binary = "";
  for (const byte of pkcs8) binary += String.fromCharCode(byte);
  const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(binary)}\n-----END PRIVATE KEY-----`;
  await withIdp(async (_idp, client) => {
    const result = await loginAs(client, "alice");
    assertEquals(result.claims.preferred_username, "alice");
    await client.refresh(result.refreshToken!, result.subject);
  }, {
    client: {
      clientSecret: undefined,
      tokenEndpointAuthMethod: "private_key_jwt",
      jwks: { keys: [{ ...publicJwk, alg: "RS256", use: "sig" }] },
    },
    config: {
      clientAuthMethod: "private_key_jwt",
      clientSecret: undefined,
      privateKey: new Secret(pem),
      privateKeyAlg: "RS256",
    },
  });
});

/**
 * Alice signs in with a cookie jar (the IdP now holds her SSO session), then starts a second
 * login whose form, if shown, gets a wrong password: it succeeds only through the SSO session.
 */
async function secondLoginWithWrongPassword(client: OidcClient) {
  const { CookieJar } = await import("../../support/idp/mod.ts");
  const cookies = new CookieJar();
  const first = await client.startLogin("tag");
  await loginOverHttp(first.url, {
    username: "alice",
    password: "alice-password",
    redirectUri: REDIRECT_URI,
    cookies,
  });
  const second = await client.startLogin("tag");
  const attempt = loginOverHttp(second.url, {
    username: "alice",
    password: "wrong",
    redirectUri: REDIRECT_URI,
    cookies,
  });
  return { second, attempt };
}

Deno.test("prompt=login from authorize_params forces the form despite an SSO session", async () => {
  await withIdp(async (_idp, client) => {
    const { attempt } = await secondLoginWithWrongPassword(client);
    await assertRejects(() => attempt, LoginFormError);
  }, { config: { authorizeParams: { prompt: "login" } } });
});

Deno.test("prompt=login dropped from the URL on the way (an IdP session signs the user in silently) is refused at the callback; the form signed in is accepted", async () => {
  await withIdp(async (_idp, client) => {
    await loginAs(client, "alice");
    const { CookieJar } = await import("../../support/idp/mod.ts");
    const cookies = new CookieJar();
    const since = Date.now();
    const first = await client.startLogin("tag");
    const signedIn = await loginOverHttp(first.url, {
      username: "alice",
      password: "alice-password",
      redirectUri: REDIRECT_URI,
      cookies,
    });
    assertEquals(
      (await client.finishLogin(signedIn, { ...first, since })).claims.preferred_username,
      "alice",
    );
    // Someone at the same browser removes prompt=login before following the link.
    const second = await client.startLogin("tag");
    second.url.searchParams.delete("prompt");
    const silent = await loginOverHttp(second.url, {
      username: "alice",
      password: "wrong",
      redirectUri: REDIRECT_URI,
      cookies,
    });
    await assertRejects(
      () => client.finishLogin(silent, { ...second, since: Date.now() }),
      OidcError,
      "prompt=login",
    );
  }, { config: { authorizeParams: { prompt: "login" } } });
});

Deno.test("an existing SSO session logs in again without showing the form", async () => {
  await withIdp(async (_idp, client) => {
    await loginAs(client, "alice");
    const { second, attempt } = await secondLoginWithWrongPassword(client);
    const callback = await attempt;
    const result = await client.finishLogin(callback, second);
    assertEquals(result.claims.preferred_username, "alice");
  });
});

Deno.test("the test IdP leaves empty claims out, as Keycloak does", async () => {
  await withIdp(async (idp, client) => {
    const login = await loginAs(client, "alice");
    idp.setGroups("alice", []);
    idp.setRealmRoles("alice", []);
    const refreshed = await client.refresh(login.refreshToken!, login.subject);
    assertEquals(Object.hasOwn(refreshed.claims!, "groups"), false);
    assertEquals(Object.hasOwn(refreshed.claims!, "realm_access"), false);
  });
});

Deno.test("the test IdP can answer refreshes like Glewlwyd: no ID token, refusals as a bare 400", async () => {
  await withIdp(async (idp, client) => {
    const login = await loginAs(client, "alice");
    const refreshed = await client.refresh(login.refreshToken!, login.subject);
    assertEquals(refreshed.idToken, undefined);
    // Read from userinfo with the new access token instead.
    assertEquals(refreshed.claims?.preferred_username, "alice");
    idp.setDisabled("alice", true);
    const refused = await assertRejects(
      () => client.refresh(refreshed.refreshToken, login.subject),
      IdpRejectedError,
    );
    assertEquals(
      [(refused.cause as { status?: number }).status, (refused.cause as { error?: string }).error],
      [400, undefined],
    );
  }, { idp: { idTokenOnRefresh: false, bareRefreshErrors: true } });
});
