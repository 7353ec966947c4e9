import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../support/assert.ts";
import { type Clock, systemClock } from "../../../src/clock.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { es256ClientKey } from "../../support/signing_key.ts";
import { createOidcClient, type OidcClient } from "../../../src/oidc/client.ts";
import {
  AuthorizationResponseError,
  IdpRejectedError,
  IdpUnreachableError,
  OidcError,
} from "../../../src/oidc/errors.ts";
import {
  CLIENT_ID,
  decodeBase64url,
  FakeIdp,
  generateSigningKey,
  ISSUER,
  oidcConfig,
  REDIRECT_URI,
} from "./fake_idp.ts";
import { MAX_BODY_BYTES } from "../../../src/oidc/http.ts";

async function setup(
  overrides: Parameters<typeof oidcConfig>[0] = {},
  now?: (() => number) | Clock,
) {
  const idp = await FakeIdp.create();
  const clock = typeof now === "function" ? { ...systemClock, now } : now;
  const client = createOidcClient(oidcConfig(overrides), REDIRECT_URI, {
    fetch: idp.fetch,
    ...(clock === undefined ? {} : { clock }),
  });
  return { idp, client };
}

async function login(client: OidcClient, idp: FakeIdp, tamper?: (callback: URL) => void) {
  const start = await client.startLogin("tag");
  idp.nonce = start.nonce;
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  tamper?.(callback);
  return await client.finishLogin(callback, start);
}

/** Rejects with `type` and `code`, and the reason names no code or token. */
async function rejectsWith<T extends OidcError>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
  code: OidcError["code"],
): Promise<T> {
  const error = await assertRejects(() => promise, type);
  assertEquals(error.code, code);
  assert(!/the-code|refresh-token|access-token|eyJ/.test(error.reason));
  return error;
}

Deno.test("startLogin() builds a code flow URL with PKCE S256, state, nonce, scopes and extra params", async () => {
  const { client } = await setup({ authorizeParams: { prompt: "login", kc_idp_hint: "corp" } });
  const start = await client.startLogin("tag");
  const params = start.url.searchParams;
  assertEquals(
    start.url.origin + start.url.pathname,
    `${ISSUER}/protocol/openid-connect/auth`,
  );
  assertEquals(params.get("response_type"), "code");
  assertEquals(params.get("client_id"), CLIENT_ID);
  assertEquals(params.get("redirect_uri"), REDIRECT_URI);
  assertEquals(params.get("scope"), "openid profile email");
  assertEquals(params.get("state"), start.state);
  assertEquals(params.get("nonce"), start.nonce);
  assertEquals(params.get("code_challenge_method"), "S256");
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(start.codeVerifier),
  );
  assertEquals(decodeBase64url(params.get("code_challenge")!), new Uint8Array(digest));
  assertEquals(params.get("prompt"), "login");
  assertEquals(params.get("kc_idp_hint"), "corp");
  assert(start.state.length >= 43 && start.nonce !== start.state);
  assert(client.ready);
});

Deno.test("startLogin() keeps the query the authorization endpoint comes with", async () => {
  const idp = await FakeIdp.create();
  idp.metadataExtras = {
    authorization_endpoint: `${ISSUER}/protocol/openid-connect/auth?tenant=blue&ui=compact`,
  };
  const client = createOidcClient(oidcConfig(), REDIRECT_URI, { fetch: idp.fetch });
  const start = await client.startLogin("tag");
  const params = start.url.searchParams;
  assertEquals(params.get("tenant"), "blue");
  assertEquals(params.get("ui"), "compact");
  assertEquals(params.get("state"), start.state);
  assertEquals([...params.keys()].slice(0, 3), ["tenant", "ui", "client_id"]);
});

Deno.test("createOidcClient() refuses authorize params that would override protocol values", () => {
  assertThrows(
    () => createOidcClient(oidcConfig({ authorizeParams: { State: "x" } }), REDIRECT_URI),
    Error,
    /authorize_params\.State/,
  );
  assertThrows(
    () =>
      createOidcClient(
        oidcConfig({ issuer: new URL("http://idp.example.com/realms/vpn") }),
        REDIRECT_URI,
      ),
    Error,
    /https/,
  );
});

Deno.test("finishLogin() returns validated claims, subject, sid and the refresh token", async () => {
  const now = Date.UTC(2030, 0, 1);
  const { idp, client } = await setup({}, () => now);
  idp.nowSec = now / 1000;
  const result = await login(client, idp);
  assertEquals(result.subject, idp.subject);
  assertEquals(result.sid, "sso-session-1");
  assertEquals(result.claims.preferred_username, "alice");
  assertEquals(result.claims.groups, ["/vpn-users"]);
  assertEquals(result.refreshToken, "refresh-token-1");
  assertEquals(result.refreshExpiresAt, now + 1800 * 1000);
  assertEquals(typeof result.idToken, "string");
  const token = idp.lastRequest("/protocol/openid-connect/token");
  assertEquals(token.form.get("grant_type"), "authorization_code");
  assertEquals(token.form.get("code"), "the-code");
  assertEquals(token.form.get("redirect_uri"), REDIRECT_URI);
  assert((token.form.get("code_verifier") ?? "").length >= 43);
});

Deno.test("finishLogin() and refresh() read refresh_expires_in = 0 (Keycloak's offline token) as no known expiry", async () => {
  const { idp, client } = await setup();
  idp.tokenExtras = { refresh_expires_in: 0 };
  const result = await login(client, idp);
  assertEquals(result.refreshToken, "refresh-token-1");
  assertEquals(result.refreshExpiresAt, undefined);
  idp.nonce = undefined;
  const refreshed = await client.refresh("refresh-token-1", idp.subject);
  assertEquals(refreshed.refreshToken, "refresh-token-2");
  assertEquals(refreshed.refreshExpiresAt, undefined);
});

Deno.test("finishLogin() rejects an ID token with the wrong nonce", async () => {
  const { idp, client } = await setup();
  const start = await client.startLogin("tag");
  idp.nonce = "another-nonce";
  const callback = new URL(`${REDIRECT_URI}?code=the-code&state=${start.state}`);
  await rejectsWith(client.finishLogin(callback, start), OidcError, "invalid_id_token");
});

Deno.test("finishLogin() rejects an ID token from another issuer", async () => {
  const { idp, client } = await setup();
  idp.idTokenClaims = { iss: "https://evil.test/realms/vpn" };
  await rejectsWith(login(client, idp), OidcError, "invalid_id_token");
});

Deno.test("finishLogin() rejects an ID token for another audience", async () => {
  const { idp, client } = await setup();
  idp.idTokenClaims = { aud: "some-other-client" };
  await rejectsWith(login(client, idp), OidcError, "invalid_id_token");
});

Deno.test("finishLogin() rejects an ID token expired by the injected clock beyond the tolerance", async () => {
  const now = Date.UTC(2030, 0, 1);
  const { idp, client } = await setup({ clockToleranceSec: 5 }, () => now);
  idp.nowSec = now / 1000 - 400; // exp = now - 100 s
  const error = await rejectsWith(login(client, idp), OidcError, "invalid_id_token");
  assertMatch(error.message, /exp|timestamp/i);
});

/**
 * ID tokens refused for one of their times, by how far the IdP's clock is off: the operator's
 * message names the clocks and the offset (the user's reason stays generic).
 */
const idTokenTimes: Array<[string, number, Record<string, unknown>, string]> = [
  [
    "an IdP clock 10 min behind (exp)",
    -600,
    {},
    "exp is 300 s past by this host's clock: the IdP's or this host's clock is off (NTP), or " +
    "raise oidc.clock_tolerance (now 30 s)",
  ],
  [
    "an IdP clock 2 h behind (exp)",
    -7200,
    {},
    "exp is 6900 s past by this host's clock: the IdP's or this host's clock is off (NTP), or " +
    "raise oidc.clock_tolerance (now 30 s)",
  ],
  [
    "an nbf 2 min ahead",
    0,
    { nbf: Date.UTC(2030, 0, 1) / 1000 + 120 },
    "nbf is 120 s ahead of this host's clock: the IdP's or this host's clock is off (NTP), or " +
    "raise oidc.clock_tolerance (now 30 s)",
  ],
];

/**
 * `advice` as a pattern whose number of seconds may be one more or less: the injected clock is
 * passed to oauth4webapi as a skew from the real one, and a second may begin between the two
 * reads (client.ts, client()).
 */
function withinASecond(advice: string): RegExp {
  const [before, seconds, after] = advice.split(/(\d+)(?= s )/);
  const near = [-1, 0, 1].map((d) => Number(seconds) + d).join("|");
  const quote = (text = "") => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${quote(before)}(?:${near})${quote(after)}$`);
}

for (const [name, offsetSec, claims, advice] of idTokenTimes) {
  Deno.test(`finishLogin() refusing an ID token of ${name} says how far the clocks are apart`, async () => {
    const now = Date.UTC(2030, 0, 1);
    const { idp, client } = await setup({ clockToleranceSec: 30 }, () => now);
    idp.nowSec = now / 1000 + offsetSec;
    idp.idTokenClaims = claims;
    const error = await rejectsWith(login(client, idp), OidcError, "invalid_id_token");
    assertMatch(error.message, /^Invalid ID token: unexpected JWT "(exp|nbf)" /);
    assertMatch(error.message.slice(error.message.indexOf("; ") + 2), withinASecond(advice));
    assertEquals(error.reason.includes("clock"), false, "the user's reason stays generic");
  });
}

Deno.test("refresh() refusing a new ID token for its exp says how far the clocks are apart", async () => {
  const now = Date.UTC(2030, 0, 1);
  const { idp, client } = await setup({ clockToleranceSec: 30 }, () => now);
  idp.nowSec = now / 1000 - 600;
  idp.idTokenClaims = { nonce: undefined };
  const error = await rejectsWith(
    client.refresh("refresh-token-1", idp.subject),
    OidcError,
    "invalid_id_token",
  );
  assertMatch(
    error.message,
    /^Invalid refreshed ID token: .*; exp is (?:299|300|301) s past by this host's clock: /,
  );
});

/**
 * An IdP whose clock runs ahead signs ID tokens issued "later": oauth4webapi checks exp and nbf
 * only, so iat is held to the tolerance here. The test clock is the wall clock 2030-01-01, so
 * the numbers are exact (client.ts reads the injected clock itself for this check).
 */
const ISSUED_AHEAD_NOW = Date.UTC(2030, 0, 1);
const issuedAheadAdvice = "iat is 90 s ahead of this host's clock: the IdP's or this host's " +
  "clock is off (NTP), or raise oidc.clock_tolerance (now 30 s)";

Deno.test("finishLogin() refuses an ID token issued more than the clock tolerance ahead of this host's clock, and takes one within it", async () => {
  const { idp, client } = await setup({ clockToleranceSec: 30 }, () => ISSUED_AHEAD_NOW);
  idp.nowSec = ISSUED_AHEAD_NOW / 1000 + 30 + 60; // exp = iat + 300 s: only iat is wrong
  const error = await rejectsWith(login(client, idp), OidcError, "invalid_id_token");
  assertEquals(
    error.message,
    `Invalid ID token: "iat" (issued at) is in the future; ${issuedAheadAdvice}`,
  );
  assertEquals(error.reason, "Invalid identity token from the identity provider");
  idp.nowSec = ISSUED_AHEAD_NOW / 1000 + 30 - 5;
  assertEquals((await login(client, idp)).subject, idp.subject);
});

Deno.test("refresh() refuses a new ID token issued more than the clock tolerance ahead, keeping the rotated token, and takes one within it", async () => {
  const { idp, client } = await setup({ clockToleranceSec: 30 }, () => ISSUED_AHEAD_NOW);
  idp.idTokenClaims = { nonce: undefined };
  idp.nowSec = ISSUED_AHEAD_NOW / 1000 + 30 + 60;
  const error = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    OidcError,
    "invalid_id_token",
  );
  assertEquals(
    error.message,
    `Invalid refreshed ID token: "iat" (issued at) is in the future; ${issuedAheadAdvice}`,
  );
  assertEquals(error.rotated?.refreshToken, "refresh-token-1");
  idp.nowSec = ISSUED_AHEAD_NOW / 1000 + 30 - 5;
  assertEquals(
    (await client.refresh("refresh-token-1", idp.subject)).refreshToken,
    "refresh-token-2",
  );
});

Deno.test("finishLogin() accepts an ID token within the clock tolerance", async () => {
  const now = Date.UTC(2030, 0, 1);
  const { idp, client } = await setup({ clockToleranceSec: 30 }, () => now);
  idp.nowSec = now / 1000 - 310; // exp = now - 10 s
  const result = await login(client, idp);
  assertEquals(result.subject, idp.subject);
});

Deno.test("finishLogin() rejects an ID token with a tampered signature", async () => {
  const { idp, client } = await setup();
  idp.onToken = async (_request, fake) => {
    const [head, body, signature] = (await fake.idToken()).split(".");
    const claims = JSON.parse(new TextDecoder().decode(decodeBase64url(body!)));
    claims.groups = ["/vpn-admins"];
    const forged = btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_")
      .replace(/=+$/, "");
    return Response.json({
      access_token: "access-token-1",
      token_type: "Bearer",
      id_token: `${head}.${forged}.${signature}`,
    });
  };
  await rejectsWith(login(client, idp), OidcError, "invalid_id_token");
});

Deno.test("finishLogin() fetches the keys again when the ID token's kid is unknown (rotation)", async () => {
  const { idp, client } = await setup();
  await login(client, idp);
  assertEquals(idp.countRequests("/protocol/openid-connect/certs"), 1);
  await idp.rotateKey();
  const result = await login(client, idp);
  assertEquals(result.subject, idp.subject);
  assertEquals(idp.countRequests("/protocol/openid-connect/certs"), 2);
  await login(client, idp);
  assertEquals(
    idp.countRequests("/protocol/openid-connect/certs"),
    2,
    "keys are cached again",
  );
});

/** Begins a sign-in whose code is `code`; the IdP answers that code with the sign-in's nonce. */
async function beginLogin(client: OidcClient, idp: FakeIdp, code: string) {
  const start = await client.startLogin("tag");
  idp.nonces.set(code, start.nonce);
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", code);
  callback.searchParams.set("state", start.state);
  return () => client.finishLogin(callback, start);
}

/** Each outcome as "ok" or its message, so that a failing assertion shows why. */
async function outcomes(attempts: Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(attempts);
  return settled.map((s) => s.status === "fulfilled" ? "ok" : String(s.reason?.message));
}

/** Requests of each kind since `before`: [discovery, JWKS]. */
function keyFetches(idp: FakeIdp, before: readonly number[] = [0, 0]): number[] {
  return [
    idp.countRequests("/.well-known/openid-configuration") - before[0]!,
    idp.countRequests("/protocol/openid-connect/certs") - before[1]!,
  ];
}

Deno.test("finishLogin() calls finishing at once after a key rotation all pass, on one fetch of the keys", async () => {
  const { idp, client } = await setup();
  await login(client, idp);
  await idp.rotateKey();
  const finishers = await Promise.all(
    [1, 2, 3, 4, 5, 6].map((n) => beginLogin(client, idp, `c${n}`)),
  );
  const before = keyFetches(idp);
  assertEquals(await outcomes(finishers.map((finish) => finish())), Array(6).fill("ok"));
  assertEquals(keyFetches(idp, before), [1, 1]);
});

Deno.test("refresh() calls in flight at a key rotation all pass, on one fetch of the keys", async () => {
  const { idp, client } = await setup();
  idp.idTokenClaims = { nonce: undefined };
  await client.refresh("refresh-token-0", idp.subject);
  await idp.rotateKey();
  const before = keyFetches(idp);
  const refreshes = [1, 2, 3, 4, 5, 6].map((n) =>
    client.refresh(`refresh-token-${n}`, idp.subject)
  );
  assertEquals(await outcomes(refreshes), Array(6).fill("ok"));
  assertEquals(keyFetches(idp, before), [1, 1]);
});

Deno.test("refresh() that began before another request fetched the rotated keys uses those, however long ago", async () => {
  let now = Date.now();
  const { idp, client } = await setup({}, () => now);
  idp.nowSec = Math.floor(now / 1000);
  idp.idTokenClaims = { nonce: undefined };
  await client.refresh("refresh-token-0", idp.subject);
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  idp.onToken = async (request) => {
    if (request.form.get("refresh_token") === "refresh-token-slow") await answered;
    return undefined;
  };
  const slow = client.refresh("refresh-token-slow", idp.subject); // holds the old metadata
  await idp.rotateKey();
  const before = keyFetches(idp);
  await client.refresh("refresh-token-1", idp.subject); // fetches the keys again
  now += 60_000;
  idp.nowSec = Math.floor(now / 1000);
  answer();
  assertEquals(await outcomes([slow]), ["ok"]);
  assertEquals(keyFetches(idp, before), [1, 1], "no second fetch for the same rotation");
});

Deno.test("finishLogin() refuses an ID token signed by a key the IdP does not publish, fetching the keys again at most once per 10 s", async () => {
  const clock = new FakeClock(Date.now());
  const { idp, client } = await setup({}, clock);
  const advance = (ms: number) => {
    clock.advance(ms);
    idp.nowSec = Math.floor(clock.now() / 1000);
  };
  advance(0);
  await login(client, idp);
  idp.signing = await generateSigningKey(); // an unknown kid, unpublished
  const forged = async () => {
    const attempts = await Promise.all([1, 2, 3].map((n) => beginLogin(client, idp, `code-${n}`)));
    for (const outcome of await outcomes(attempts.map((finish) => finish()))) {
      assertMatch(outcome, /Invalid ID token: .*no applicable keys found/);
    }
  };
  await forged();
  assertEquals(keyFetches(idp), [2, 2], "one forced fetch");
  advance(9_999);
  await forged();
  await forged();
  assertEquals(keyFetches(idp), [2, 2], "none more within the interval");
  advance(1);
  await forged();
  assertEquals(keyFetches(idp), [3, 3], "one more after it");
});

Deno.test("finishLogin() fetches a rotated key half an hour after the last forced fetch, though the wall clock stepped back an hour meanwhile", async () => {
  const clock = new FakeClock(Date.now());
  const { idp, client } = await setup({}, clock);
  const advance = (ms: number) => {
    clock.advance(ms);
    idp.nowSec = Math.floor(clock.now() / 1000);
  };
  advance(0);
  await login(client, idp);
  await idp.rotateKey();
  await login(client, idp); // a forced fetch
  assertEquals(keyFetches(idp), [2, 2]);
  advance(30 * 60_000);
  // NTP steps this host's clock back an hour; the IdP agrees with the corrected time.
  clock.stepWall(-3_600_000);
  advance(0);
  await idp.rotateKey();
  assertEquals(await outcomes([login(client, idp)]), ["ok"], "the rotated key was not fetched");
  assertEquals(keyFetches(idp), [3, 3]);
});

Deno.test("finishLogin() turns error=access_denied into AuthorizationResponseError", async () => {
  const { idp, client } = await setup();
  const start = await client.startLogin("tag");
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("error", "access_denied");
  callback.searchParams.set("error_description", "User cancelled\n<script>");
  callback.searchParams.set("state", start.state);
  const error = await rejectsWith(
    client.finishLogin(callback, start),
    AuthorizationResponseError,
    "access_denied",
  );
  assertEquals(error.idpError, "access_denied");
  assertEquals(error.idpErrorDescription, "User cancelled<script>");
  assertEquals(idp.countRequests("/protocol/openid-connect/token"), 0);
});

Deno.test("finishLogin() rejects a callback whose state does not match", async () => {
  const { idp, client } = await setup();
  await rejectsWith(
    login(client, idp, (callback) => callback.searchParams.set("state", "forged")),
    OidcError,
    "invalid_state",
  );
  assertEquals(idp.countRequests("/protocol/openid-connect/token"), 0);
});

Deno.test("finishLogin() merges userinfo claims and rejects userinfo about another subject", async () => {
  const { idp, client } = await setup({ useUserinfo: true });
  idp.userinfo = { sub: idp.subject, groups: ["/from-userinfo"], iss: "ignored" };
  const result = await login(client, idp);
  assertEquals(result.claims.groups, ["/from-userinfo"]);
  assertEquals(result.claims.iss, ISSUER);
  assertEquals(
    idp.lastRequest("/protocol/openid-connect/userinfo").headers.get("authorization"),
    "Bearer access-token-1",
  );

  idp.userinfo = { sub: "someone-else" };
  await rejectsWith(login(client, idp), OidcError, "invalid_response");
});

Deno.test("authorize_params.max_age is checked against the ID token's auth_time (the parameter travels through the browser)", async () => {
  const { idp, client } = await setup({ authorizeParams: { max_age: "600" } });
  const now = Math.floor(Date.now() / 1000);
  idp.idTokenClaims = { auth_time: now - 60 };
  assertEquals((await login(client, idp)).subject, idp.subject);
  idp.idTokenClaims = { auth_time: now - 3_600 };
  await assertRejects(() => login(client, idp), OidcError);
  idp.idTokenClaims = { auth_time: undefined };
  await assertRejects(() => login(client, idp), OidcError);
});

Deno.test("refresh() returns the rotated token and new claims", async () => {
  const { idp, client } = await setup();
  idp.idTokenClaims = { nonce: undefined, groups: ["/new-group"] };
  const result = await client.refresh("refresh-token-0", idp.subject);
  assertEquals(result.refreshToken, "refresh-token-1");
  assertEquals(result.claims?.groups, ["/new-group"]);
  const request = idp.lastRequest("/protocol/openid-connect/token");
  assertEquals(request.form.get("grant_type"), "refresh_token");
  assertEquals(request.form.get("refresh_token"), "refresh-token-0");
});

Deno.test("refresh() without an ID token keeps the presented token and reads userinfo with the new access token", async () => {
  const { idp, client } = await setup();
  idp.onToken = () =>
    Response.json({ access_token: "access-token-2", token_type: "Bearer", expires_in: 300 });
  // Keycloak-like: a user in no group gets no groups claim at all.
  idp.userinfo = { sub: idp.subject, preferred_username: "alice" };
  const result = await client.refresh("refresh-token-0", idp.subject);
  assertEquals(result.refreshToken, "refresh-token-0");
  assertEquals(result.claims, { sub: idp.subject, preferred_username: "alice" });
  assertEquals(result.refreshExpiresAt, undefined);
  assertEquals(
    idp.lastRequest("/protocol/openid-connect/userinfo").headers.get("authorization"),
    "Bearer access-token-2",
  );
  idp.userinfo = { sub: "someone-else", preferred_username: "alice" };
  await rejectsWith(client.refresh("refresh-token-0", idp.subject), OidcError, "invalid_response");
});

Deno.test("refresh() whose userinfo fails after the IdP rotated the token says which token the session holds now", async () => {
  const { idp, client } = await setup();
  // Glewlwyd-like: no ID token on refresh, one-use refresh tokens; then userinfo is down.
  idp.onToken = () =>
    Response.json({
      access_token: "access-token-2",
      token_type: "Bearer",
      expires_in: 300,
      refresh_token: "refresh-token-rotated",
    });
  idp.onUserinfo = () => new Response("Service Unavailable", { status: 503 });
  const error = await assertRejects(
    () => client.refresh("refresh-token-0", idp.subject),
    OidcError,
  );
  assertEquals(error.rotated?.refreshToken, "refresh-token-rotated");
  // Without a new refresh token the presented one is still good: nothing to carry.
  idp.onToken = () =>
    Response.json({ access_token: "access-token-3", token_type: "Bearer", expires_in: 300 });
  const kept = await assertRejects(() => client.refresh("refresh-token-0", idp.subject), OidcError);
  assertEquals(kept.rotated, undefined);
});

Deno.test("refresh() whose new ID token oauth4webapi refuses (aud) keeps the rotated token", async () => {
  const { idp, client } = await setup();
  idp.idTokenClaims = { nonce: undefined, aud: "another-client" };
  const error = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    OidcError,
    "invalid_id_token",
  );
  assertEquals(error.rotated?.refreshToken, "refresh-token-1");
  // refresh_expires_in (1800 s from the fake IdP) read by the same rule as a good refresh.
  assert(error.rotated?.refreshExpiresAt !== undefined);
  assert(Math.abs(error.rotated.refreshExpiresAt - (Date.now() + 1_800_000)) < 60_000);
});

Deno.test("refresh() granted with a token_type oauth4webapi refuses keeps the rotated token; a shape not a token carries nothing", async () => {
  const { idp, client } = await setup();
  const granted = (extras: Record<string, unknown>) => () =>
    Response.json({
      access_token: "access-token-2",
      token_type: "N_A",
      expires_in: 300,
      ...extras,
    });
  idp.onToken = granted({ refresh_token: "refresh-token-rotated", refresh_expires_in: "soon" });
  const error = await assertRejects(
    () => client.refresh("refresh-token-0", idp.subject),
    OidcError,
  );
  assertEquals(error.rotated, {
    refreshToken: "refresh-token-rotated",
    refreshExpiresAt: undefined,
  });
  for (const refresh_token of [undefined, "", 42, { token: "x" }]) {
    idp.onToken = granted({ refresh_token });
    const kept = await assertRejects(
      () => client.refresh("refresh-token-0", idp.subject),
      OidcError,
    );
    assertEquals(kept.rotated, undefined);
  }
});

Deno.test("refresh() refused with an error only the user can clear (Entra ID's interaction_required when Conditional Access wants MFA, login_required, ...) is IdpRejectedError: the grant is gone", async () => {
  const { idp, client } = await setup();
  for (
    const error of [
      "interaction_required",
      "login_required",
      "account_selection_required",
      "consent_required",
    ]
  ) {
    idp.onToken = () =>
      Response.json({
        error,
        error_description: "AADSTS50076: Due to a configuration change made by your administrator",
      }, { status: 400 });
    const refused = await rejectsWith(
      client.refresh("refresh-token-0", idp.subject),
      IdpRejectedError,
      "invalid_grant",
    );
    assertStringIncludes(refused.message, `HTTP 400 ${error}`);
  }
  // An error about the request, not the user, still keeps the session (idp_error).
  idp.onToken = () => Response.json({ error: "unauthorized_client" }, { status: 400 });
  const other = await assertRejects(() => client.refresh("refresh-token-0", idp.subject));
  assert(!(other instanceof IdpRejectedError), String(other));
});

Deno.test("refresh() refused with 400 invalid_scope (Keycloak: the user withdrew consent, or the client now requires it) is IdpRejectedError: the grant is gone", async () => {
  const { idp, client } = await setup();
  let sent: URLSearchParams | undefined;
  idp.onToken = (request) => {
    sent = request.form;
    return Response.json({
      error: "invalid_scope",
      error_description: "Client no longer has requested consent from user",
    }, { status: 400 });
  };
  const refused = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpRejectedError,
    "invalid_grant",
  );
  assertStringIncludes(refused.message, "HTTP 400 invalid_scope");
  // Why only the grant can be at fault: the refresh names no scope of its own.
  assertEquals(sent?.get("grant_type"), "refresh_token");
  assertEquals(sent?.has("scope"), false);
  // Another status is not the OAuth answer to the grant: the sessions are kept (idp_error).
  idp.onToken = () => Response.json({ error: "invalid_scope" }, { status: 403 });
  const other = await assertRejects(() => client.refresh("refresh-token-0", idp.subject));
  assert(!(other instanceof IdpRejectedError), String(other));
});

Deno.test("refresh() refused with 400 invalid_request (Dex: the token deleted, reused or expired) is IdpRejectedError: the grant is gone", async () => {
  const { idp, client } = await setup();
  for (
    const description of [
      "Refresh token is invalid or has already been claimed by another client.",
      "Refresh token expired.",
    ]
  ) {
    idp.onToken = () =>
      Response.json({ error: "invalid_request", error_description: description }, {
        status: 400,
      });
    const refused = await rejectsWith(
      client.refresh("refresh-token-0", idp.subject),
      IdpRejectedError,
      "invalid_grant",
    );
    assertStringIncludes(refused.message, "HTTP 400 invalid_request");
  }
  // Another status is the IdP refusing the request: Keycloak's 403 when the token request reached
  // it as plain http and the realm requires SSL. The sessions are kept (idp_error).
  idp.onToken = () =>
    Response.json({ error: "invalid_request", error_description: "HTTPS required" }, {
      status: 403,
    });
  const setup403 = await assertRejects(() => client.refresh("refresh-token-0", idp.subject));
  assert(!(setup403 instanceof IdpRejectedError), String(setup403));
  assertEquals((setup403 as OidcError).code, "idp_error");
});

Deno.test("refresh() refused (400 invalid_grant) carries no rotated token, whatever its body says", async () => {
  const { idp, client } = await setup();
  idp.onToken = () =>
    Response.json({ error: "invalid_grant", refresh_token: "refresh-token-bogus" }, {
      status: 400,
    });
  const error = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpRejectedError,
    "invalid_grant",
  );
  assertEquals(error.rotated, undefined);
});

Deno.test("refresh() without an ID token or a userinfo endpoint returns no claims", async () => {
  const { idp, client } = await setup();
  idp.metadataExtras = { userinfo_endpoint: undefined };
  idp.onToken = () =>
    Response.json({ access_token: "access-token-2", token_type: "Bearer", expires_in: 300 });
  const result = await client.refresh("refresh-token-0", idp.subject);
  assertEquals(result.claims, undefined);
  assertEquals(idp.countRequests("/protocol/openid-connect/userinfo"), 0);
});

Deno.test("refresh() refused with a bare HTTP 400 and no body (Glewlwyd) is IdpRejectedError", async () => {
  const { idp, client } = await setup();
  idp.onToken = () => new Response(null, { status: 400 });
  const error = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpRejectedError,
    "invalid_grant",
  );
  assertEquals((error.cause as { status?: number }).status, 400);
});

Deno.test("OIDC errors keep a code and their evidence as cause, never the secret parts", async () => {
  const { idp, client } = await setup();
  idp.onToken = () =>
    Response.json({ error: "invalid_client", error_description: "Bad secret" }, { status: 401 });
  const refused = await rejectsWith(login(client, idp), OidcError, "invalid_response");
  assertEquals(refused.cause, {
    name: "ResponseBodyError",
    code: "OAUTH_RESPONSE_BODY_ERROR",
    message: "server responded with an error in the response body",
    status: 401,
    error: "invalid_client",
    errorDescription: "Bad secret",
  });

  idp.onToken = undefined;
  const mismatch = await rejectsWith(
    login(client, idp, (callback) => callback.searchParams.set("state", "forged-state")),
    OidcError,
    "invalid_state",
  );
  const cause = mismatch.cause as { code?: string; message?: string };
  assertEquals(typeof cause.code, "string");
  assert(!/the-code|forged-state/.test(JSON.stringify(cause)), JSON.stringify(cause));
});

Deno.test("refresh() rejects a new ID token about another subject", async () => {
  const { idp, client } = await setup();
  idp.idTokenClaims = { nonce: undefined };
  const error = await rejectsWith(
    client.refresh("refresh-token-0", "someone-else"),
    OidcError,
    "invalid_id_token",
  );
  assertEquals(error.message, "Invalid refreshed ID token: it is about another subject");
});

Deno.test("refresh() with a new ID token and use_userinfo rejects userinfo about another subject", async () => {
  const { idp, client } = await setup({ useUserinfo: true });
  idp.idTokenClaims = { nonce: undefined };
  idp.userinfo = { sub: idp.subject, groups: ["/from-userinfo"] };
  const result = await client.refresh("refresh-token-0", idp.subject);
  assertEquals(result.claims?.groups, ["/from-userinfo"]);
  // Merged, another user's groups would decide this user's admission.
  idp.userinfo = { sub: "someone-else", groups: ["/admins"] };
  await rejectsWith(client.refresh("refresh-token-0", idp.subject), OidcError, "invalid_response");
});

Deno.test("finishLogin() with prompt=login takes an auth_time down to oidc.clock_tolerance before the sign-in began, and not a second earlier", async () => {
  const { idp, client } = await setup({ authorizeParams: { prompt: "login" } });
  const since = Date.now() - 30_000;
  const sinceSec = Math.floor(since / 1000);
  const finish = async (authTime: number) => {
    const start = await client.startLogin("tag");
    idp.nonce = start.nonce;
    idp.idTokenClaims = { auth_time: authTime };
    const callback = new URL(REDIRECT_URI);
    callback.searchParams.set("code", "the-code");
    callback.searchParams.set("state", start.state);
    return await client.finishLogin(callback, { ...start, since });
  };
  // oidcConfig() has a tolerance of 5 s.
  assertEquals((await finish(sinceSec - 5)).subject, idp.subject);
  const early = await rejectsWith(finish(sinceSec - 6), OidcError, "invalid_id_token");
  // Worded like every refused ID token (idTokenRefused).
  assertMatch(early.message, /^Invalid ID token: authorize_params has prompt=login, .*auth_time/);
});

Deno.test("refresh() refused with an HTML page over the body cap (a proxy's) is still IdpRejectedError; a 5xx or 429 so large is unreachable", async () => {
  const { idp, client } = await setup();
  const page = () => "<html>" + "x".repeat(MAX_BODY_BYTES) + "</html>";
  idp.onToken = () =>
    new Response(page(), { status: 400, headers: { "content-type": "text/html" } });
  const error = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpRejectedError,
    "invalid_grant",
  );
  assertEquals((error.cause as { status?: number }).status, 400);
  for (const status of [429, 502]) {
    idp.onToken = () => new Response(page(), { status });
    await assertRejects(
      () => client.refresh("refresh-token-0", idp.subject),
      IdpUnreachableError,
    );
  }
});

Deno.test("refresh() refused for the client, not the grant (a rotated secret, a moved endpoint), is an idp_error, not IdpRejectedError", async () => {
  const { idp, client } = await setup();
  const refusals = [
    () =>
      Response.json({ error: "invalid_client", error_description: "Bad secret" }, { status: 401 }),
    // RFC 6749 5.2: after HTTP Basic client authentication, a challenge comes with it.
    () =>
      Response.json({ error: "invalid_client" }, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="token", error="invalid_client"' },
      }),
    () =>
      new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="token"' } }),
    () => new Response(null, { status: 401 }),
    () => new Response(null, { status: 403 }),
    () => Response.json({ error: "unauthorized_client" }, { status: 400 }),
    () => new Response("Not Found", { status: 404 }),
    () => new Response(null, { status: 405 }),
  ];
  for (const refusal of refusals) {
    idp.onToken = refusal;
    const error = await rejectsWith(
      client.refresh("refresh-token-0", idp.subject),
      OidcError,
      "idp_error",
    );
    assert(!(error instanceof IdpRejectedError), error.message);
    assertStringIncludes(error.message, "the sessions are kept");
  }
  // The challenge's own error is named, also on a 400 (a challenge is about our client).
  idp.onToken = () =>
    new Response(null, {
      status: 400,
      headers: { "www-authenticate": 'Basic realm="token", error="invalid_client"' },
    });
  const challenged = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    OidcError,
    "idp_error",
  );
  assertStringIncludes(challenged.message, "HTTP 400 invalid_client");
});

Deno.test("refresh() turns invalid_grant into IdpRejectedError", async () => {
  const { idp, client } = await setup();
  idp.onToken = () =>
    Response.json({ error: "invalid_grant", error_description: "Session not active" }, {
      status: 400,
    });
  await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpRejectedError,
    "invalid_grant",
  );
});

Deno.test("refresh() turns network failures, 5xx and timeouts into IdpUnreachableError", async () => {
  const clock = new FakeClock();
  const { idp, client } = await setup({ httpTimeoutMs: 50 }, clock);
  await client.discover();
  idp.outage = () => Promise.reject(new TypeError("error sending request: connection refused"));
  await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpUnreachableError,
    "idp_unreachable",
  );
  idp.outage = () => Promise.resolve(new Response("Bad Gateway", { status: 502 }));
  await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpUnreachableError,
    "idp_unreachable",
  );
  // Never answers: only the client's deadline ends the request.
  idp.outage = (request) => {
    const never = new Promise<Response>((_, reject) => {
      request.signal?.addEventListener("abort", () => reject(request.signal?.reason));
    });
    clock.advance(50);
    return never;
  };
  await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpUnreachableError,
    "idp_unreachable",
  );
});

Deno.test("refresh() rate-limited (HTTP 429) is IdpUnreachableError: it refuses neither the grant nor the client", async () => {
  const { idp, client } = await setup();
  await client.discover();
  // A refusal here would deny the client whatever sessions.idp_unreachable says.
  idp.outage = () =>
    Promise.resolve(
      new Response("Too Many Requests", { status: 429, headers: { "retry-after": "1" } }),
    );
  const limited = await rejectsWith(
    client.refresh("refresh-token-0", idp.subject),
    IdpUnreachableError,
    "idp_unreachable",
  );
  assertMatch(limited.message, /HTTP 429/);
});

Deno.test("discover() failures leave the client not ready and are retried on the next call", async () => {
  const { idp, client } = await setup();
  idp.outage = () => Promise.reject(new TypeError("connection refused"));
  await rejectsWith(client.discover(), IdpUnreachableError, "idp_unreachable");
  assertEquals(client.ready, false);
  idp.outage = undefined;
  await client.discover();
  assertEquals(client.ready, true);
});

Deno.test("discover() refuses a document without an authorization or a token endpoint: the client is not ready", async () => {
  for (const missing of ["authorization_endpoint", "token_endpoint"]) {
    const { idp, client } = await setup();
    // Ready on such a document, /readyz would pass while every sign-in fails.
    idp.metadataExtras = { [missing]: undefined };
    const error = await rejectsWith(client.discover(), OidcError, "invalid_response");
    assertMatch(error.message, /lacks endpoints/, missing);
    assertEquals(client.ready, false, missing);
  }
});

Deno.test("client_secret_basic sends an Authorization header and no secret in the body", async () => {
  const { idp, client } = await setup({ clientAuthMethod: "client_secret_basic" });
  await login(client, idp);
  const request = idp.lastRequest("/protocol/openid-connect/token");
  const header = request.headers.get("authorization") ?? "";
  assertMatch(header, /^Basic /);
  const [id, secret] = atob(header.slice(6)).split(":").map(decodeURIComponent);
  assertEquals(id, CLIENT_ID);
  assertEquals(secret, "s3cret:with/odd+chars");
  assertEquals(request.form.get("client_secret"), null);
});

Deno.test("client_secret_post sends client_id and client_secret in the body", async () => {
  const { idp, client } = await setup({ clientAuthMethod: "client_secret_post" });
  await login(client, idp);
  const request = idp.lastRequest("/protocol/openid-connect/token");
  assertEquals(request.headers.get("authorization"), null);
  assertEquals(request.form.get("client_id"), CLIENT_ID);
  assertEquals(request.form.get("client_secret"), "s3cret:with/odd+chars");
});

Deno.test("private_key_jwt sends a client assertion signed with the configured key", async () => {
  const key = await es256ClientKey();
  const { idp, client } = await setup(key.oidc);
  await login(client, idp);
  const request = idp.lastRequest("/protocol/openid-connect/token");
  assertEquals(request.headers.get("authorization"), null);
  assertEquals(request.form.get("client_secret"), null);
  assertEquals(
    request.form.get("client_assertion_type"),
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
  );
  const [head, body, signature] = request.form.get("client_assertion")!.split(".");
  assertEquals(JSON.parse(new TextDecoder().decode(decodeBase64url(head!))).alg, "ES256");
  const claims = JSON.parse(new TextDecoder().decode(decodeBase64url(body!)));
  assertEquals(claims.iss, CLIENT_ID);
  assertEquals(claims.sub, CLIENT_ID);
  assert(claims.aud === ISSUER || (Array.isArray(claims.aud) && claims.aud.includes(ISSUER)));
  const valid = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key.publicKey,
    decodeBase64url(signature!),
    new TextEncoder().encode(`${head}.${body}`),
  );
  assert(valid);
});

Deno.test("revoke() posts the refresh token with a type hint, and does nothing without an endpoint or with oidc.revoke_refresh_tokens off", async () => {
  const { idp, client } = await setup();
  await client.revoke("refresh-token-9");
  const request = idp.lastRequest("/protocol/openid-connect/revoke");
  assertEquals(request.form.get("token"), "refresh-token-9");
  assertEquals(request.form.get("token_type_hint"), "refresh_token");

  const other = await setup();
  other.idp.metadataExtras = { revocation_endpoint: undefined };
  await other.client.revoke("refresh-token-9");
  assertEquals(other.idp.countRequests("/protocol/openid-connect/revoke"), 0);

  const off = await setup({ revokeRefreshTokens: false });
  await off.client.revoke("refresh-token-9");
  assertEquals(off.idp.countRequests("/protocol/openid-connect/revoke"), 0);
});

Deno.test("startLogin(tag) begins the state with the tag, and that state completes the login", async () => {
  const { client, idp } = await setup();
  const start = await client.startLogin("AAAAAAAAAAAAAAAAAAAAAA");
  assertMatch(start.state, /^AAAAAAAAAAAAAAAAAAAAAA\.[A-Za-z0-9_-]{43}$/);
  assertEquals(start.url.searchParams.get("state"), start.state);
  idp.nonce = start.nonce;
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  assertEquals((await client.finishLogin(callback, start)).subject.length > 0, true);
});

Deno.test("revoke() requests take a few slots at the IdP at a time, and a refresh meanwhile is not held up", async () => {
  const idp = await FakeIdp.create();
  const held: Array<() => void> = [];
  let open = 0;
  let mostOpen = 0;
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    if (!String(input).endsWith("/revoke")) return idp.fetch(input, init);
    open++;
    mostOpen = Math.max(mostOpen, open);
    return new Promise<Response>((resolve) => {
      held.push(() => {
        open--;
        resolve(idp.fetch(input, init));
      });
    });
  };
  const client = createOidcClient(oidcConfig(), REDIRECT_URI, {
    fetch,
    requestLimits: {
      limit: 4,
      backgroundLimit: 2,
      maxQueuedBackground: 100,
      maxBackgroundWaitMs: 60_000,
    },
  });
  await client.discover();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const revocations = Array.from({ length: 20 }, (_, i) => client.revoke(`refresh-token-${i}`));
  await settle();
  assertEquals(held.length, 2);
  // Two of the four slots are free for requests someone waits for.
  const refreshed = await client.refresh("refresh-token-x", idp.subject);
  assertEquals(refreshed.refreshToken, "refresh-token-1");
  while (held.length > 0) {
    held.shift()!();
    await settle();
  }
  await Promise.all(revocations);
  assertEquals(mostOpen, 2);
  assertEquals(idp.countRequests("/protocol/openid-connect/revoke"), 20);
});

Deno.test("close(): revocations still waiting for a slot are never sent, nor is anything asked later", async () => {
  const idp = await FakeIdp.create();
  const held: Array<() => void> = [];
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    if (!String(input).endsWith("/revoke")) return idp.fetch(input, init);
    return new Promise<Response>((resolve) => held.push(() => resolve(idp.fetch(input, init))));
  };
  const client = createOidcClient(oidcConfig(), REDIRECT_URI, { fetch });
  await client.discover();
  const revocations = Array.from(
    { length: 10 },
    (_, i) => client.revoke(`refresh-token-${i}`).then(() => "sent", (error) => String(error)),
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(held.length, 4, "4 revocations at the IdP, 6 waiting");
  client.close();
  for (const release of held) release();
  const outcomes = await Promise.all(revocations);
  assertEquals(outcomes.filter((outcome) => outcome === "sent").length, 4);
  assertEquals(
    outcomes.filter((outcome) => /IdP request not sent: the bridge is stopping/.test(outcome))
      .length,
    6,
  );
  await assertRejects(() => client.refresh("refresh-token-x", idp.subject), IdpUnreachableError);
  assertEquals(idp.countRequests("/protocol/openid-connect/revoke"), 4);
  assertEquals(idp.countRequests("/protocol/openid-connect/token"), 0);
});

Deno.test("a request that waits for a slot past oidc.http_timeout fails as the IdP unreachable", async () => {
  const clock = new FakeClock();
  const idp = await FakeIdp.create();
  const client = createOidcClient(oidcConfig({ httpTimeoutMs: 50 }), REDIRECT_URI, {
    fetch: idp.fetch,
    clock,
    requestLimits: {
      limit: 1,
      backgroundLimit: 1,
      maxQueuedBackground: 100,
      maxBackgroundWaitMs: 60_000,
    },
  });
  await client.discover();
  // The token endpoint never answers: only the deadline ends a request.
  idp.outage = (request) =>
    new Promise<Response>((_, reject) => {
      request.signal?.addEventListener("abort", () => reject(request.signal?.reason));
    });
  const first = client.refresh("refresh-token-0", idp.subject);
  const second = client.refresh("refresh-token-1", idp.subject);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(idp.countRequests("/protocol/openid-connect/token"), 1);
  clock.advance(50);
  await rejectsWith(first, IdpUnreachableError, "idp_unreachable");
  const queued = await rejectsWith(second, IdpUnreachableError, "idp_unreachable");
  assertMatch(queued.message, /no answer within 50 ms \(waited for one of 1 slots/);
  // It never reached the IdP.
  assertEquals(idp.countRequests("/protocol/openid-connect/token"), 1);
});

Deno.test("an IdP request leaves no deadline timer behind, and a revocation that gets no answer ends at oidc.http_timeout and frees its slot", async () => {
  const clock = new FakeClock();
  const idp = await FakeIdp.create();
  let revocationsSent = 0;
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    if (!String(input).endsWith("/revoke")) return idp.fetch(input, init);
    revocationsSent++;
    return new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
    });
  };
  const client = createOidcClient(oidcConfig({ httpTimeoutMs: 50 }), REDIRECT_URI, {
    fetch,
    clock,
    requestLimits: {
      limit: 2,
      backgroundLimit: 1,
      maxQueuedBackground: 100,
      maxBackgroundWaitMs: 60_000,
    },
  });
  await client.discover();
  assertEquals(clock.pendingTimers, 0, "the discovery's deadline is cleared once it is answered");
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const outcomes: unknown[] = [];
  for (const token of ["refresh-token-0", "refresh-token-1"]) {
    client.revoke(token).then(() => outcomes.push("sent"), (error) => outcomes.push(error));
  }
  await settle();
  assertEquals(revocationsSent, 1, "one background slot");
  clock.advance(50);
  await settle();
  assert(outcomes[0] instanceof IdpUnreachableError, "the first revocation ends at its deadline");
  assertEquals(revocationsSent, 2, "its slot went to the second");
  clock.advance(50);
  await settle();
  assert(outcomes[1] instanceof IdpUnreachableError);
  assertEquals(clock.pendingTimers, 0);
});

/**
 * Two revocations through one background slot: the first gets no answer and ends at
 * oidc.http_timeout (`busyMs`); the wall clock steps by `wallStepMs` while the second waits.
 * What became of the second: "sent", or why it was not.
 */
async function revocationQueuedAcrossStep(
  wallStepMs: number,
  busyMs: number,
  maxBackgroundWaitMs: number,
): Promise<string> {
  const clock = new FakeClock(Date.now());
  const idp = await FakeIdp.create();
  let revocationsSent = 0;
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    if (!String(input).endsWith("/revoke")) return idp.fetch(input, init);
    if (++revocationsSent > 1) return idp.fetch(input, init);
    return new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
    });
  };
  const client = createOidcClient(oidcConfig({ httpTimeoutMs: busyMs }), REDIRECT_URI, {
    fetch,
    clock,
    requestLimits: { limit: 2, backgroundLimit: 1, maxQueuedBackground: 10, maxBackgroundWaitMs },
  });
  await client.discover();
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  void client.revoke("refresh-token-0").catch(() => {});
  const second = client.revoke("refresh-token-1").then(() => "sent", (error) => String(error));
  await settle();
  clock.stepWall(wallStepMs);
  clock.advance(busyMs);
  return await second;
}

Deno.test("a revocation waiting for a slot is timed on this host, not the wall clock: a step neither drops nor keeps it", async () => {
  assertEquals(
    await revocationQueuedAcrossStep(120_000, 5_000, 60_000),
    "sent",
    "5 s of waiting, the wall clock stepped forward 2 min",
  );
  assertMatch(
    await revocationQueuedAcrossStep(-3_600_000, 5_000, 1_000),
    /not sent: no slot of 1 for background requests freed within 1000 ms/,
    "5 s of waiting past a 1 s bound, the wall clock stepped back 1 h",
  );
});

Deno.test("by default at most 32 requests are open at the IdP at once, at most 4 of them revocations (README)", async () => {
  const idp = await FakeIdp.create();
  const held: Array<() => void> = [];
  const open = { token: 0, revoke: 0 };
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    const kind = String(input).endsWith("/revoke")
      ? "revoke"
      : String(input).endsWith("/token")
      ? "token"
      : undefined;
    if (kind === undefined) return idp.fetch(input, init);
    open[kind]++;
    return new Promise<Response>((resolve) => held.push(() => resolve(idp.fetch(input, init))));
  };
  const client = createOidcClient(oidcConfig(), REDIRECT_URI, { fetch });
  await client.discover();
  const calls = [
    ...Array.from({ length: 10 }, (_, i) => client.revoke(`refresh-token-${i}`)),
    ...Array.from({ length: 40 }, (_, i) => client.refresh(`refresh-token-${i}`, idp.subject)),
  ];
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(open, { revoke: 4, token: 28 });
  while (held.length > 0) {
    held.shift()!();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await Promise.all(calls);
  assertEquals(open, { revoke: 10, token: 40 });
});

Deno.test("get(): a GET at the IdP on the client's path: the body cap, plain http refused, a slot at the IdP, nothing after close()", async () => {
  const idp = await FakeIdp.create();
  const certs = `${ISSUER}/protocol/openid-connect/certs`;
  const held: Array<() => void> = [];
  let hold = false;
  let oversized = false;
  const fetch = (input: string | URL | Request, init?: RequestInit) => {
    if (oversized) {
      return Promise.resolve(new Response(new Uint8Array(MAX_BODY_BYTES + 1), { status: 200 }));
    }
    if (!hold) return idp.fetch(input, init);
    return new Promise<Response>((resolve) => held.push(() => resolve(idp.fetch(input, init))));
  };
  const client = createOidcClient(oidcConfig(), REDIRECT_URI, {
    fetch,
    requestLimits: {
      limit: 2,
      backgroundLimit: 1,
      maxQueuedBackground: 10,
      maxBackgroundWaitMs: 1000,
    },
  });

  const keys = await client.get(certs, { accept: "application/json" });
  assertEquals(keys.status, 200);
  assertEquals((await keys.json()).keys.length, 1);
  assertEquals(
    idp.lastRequest("/protocol/openid-connect/certs").headers.get("accept"),
    "application/json",
  );

  oversized = true;
  await assertRejects(() => client.get(certs, {}), IdpUnreachableError, "exceeds");
  oversized = false;

  await assertRejects(
    () => client.get("http://idp.example.com/certs", {}),
    OidcError,
    "Not fetched: http://idp.example.com: it calls https only",
  );

  // Two slots: two GETs held at the IdP, the third waits for a slot and is never sent.
  hold = true;
  const outcomes = [0, 1, 2].map(() =>
    client.get(certs, {}).then((response) => String(response.status), (error) => String(error))
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(held.length, 2);
  client.close();
  for (const release of held) release();
  assertEquals(
    (await Promise.all(outcomes)).map((o) => o.includes("the bridge is stopping") ? "refused" : o),
    [
      "200",
      "200",
      "refused",
    ],
  );
  await assertRejects(() => client.get(certs, {}), IdpUnreachableError, "the bridge is stopping");
  assertEquals(idp.countRequests("/protocol/openid-connect/certs"), 3);
});
