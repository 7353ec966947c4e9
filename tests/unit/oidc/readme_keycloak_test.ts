/**
 * README, "Keycloak client settings": what the guide says the bridge does with a Keycloak client
 * set up otherwise than it says, held to the bridge's behaviour against the fake IdP, and the
 * guide's own words held to that behaviour.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { systemClock } from "../../../src/clock.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { IdpRejectedError, OidcError } from "../../../src/oidc/errors.ts";
import { es256ClientKey } from "../../support/signing_key.ts";
import {
  callbackFor,
  decodeBase64url,
  FakeIdp,
  ISSUER,
  oidcConfig,
  REDIRECT_URI,
} from "./fake_idp.ts";

const README = new URL("../../../README.md", import.meta.url);
const TOKEN = "/protocol/openid-connect/token";

/** The README as one line: its paragraphs are wrapped, their line breaks anywhere. */
async function readme(): Promise<string> {
  return (await Deno.readTextFile(README)).replace(/\s+/g, " ");
}

async function setup(overrides: Parameters<typeof oidcConfig>[0] = {}, now = systemClock.now) {
  const idp = await FakeIdp.create();
  // Keycloak's discovery says it sends `iss` with the code (RFC 9207).
  idp.metadataExtras = { authorization_response_iss_parameter_supported: true };
  const client = createOidcClient(oidcConfig(overrides), REDIRECT_URI, {
    fetch: idp.fetch,
    clock: { ...systemClock, now },
  });
  /** A sign-in begun a minute ago whose callback carries what Keycloak sends, less `drop`. */
  const signIn = async (drop?: "iss") => {
    const start = await client.startLogin("tag");
    const callback = callbackFor(idp, start);
    if (drop !== "iss") callback.searchParams.set("iss", ISSUER);
    return await client.finishLogin(callback, { ...start, since: Date.now() - 60_000 });
  };
  return { idp, client, signIn };
}

Deno.test("the README's Keycloak guide: without auth_time (no `basic` client scope), prompt=login and max_age refuse the sign-in, and the log names `basic`", async () => {
  const nowSec = Math.floor(Date.now() / 1000);
  for (
    const [params, named] of [[{ prompt: "login" }, "prompt=login"], [
      { max_age: "600" },
      "max_age",
    ]] as const
  ) {
    const { idp, signIn } = await setup({ authorizeParams: params });
    idp.idTokenClaims = { auth_time: undefined };
    const refused = await assertRejects(() => signIn(), OidcError);
    assertEquals(refused.code, "invalid_id_token");
    assertStringIncludes(
      refused.message,
      `authorize_params has ${named}, but the IdP sent no auth_time (Keycloak: is the client's ` +
        "`basic` client scope missing?)",
    );
    // An auth_time too old is another fault, and says nothing of `basic`.
    idp.idTokenClaims = { auth_time: nowSec - 3_600 };
    const old = await assertRejects(() => signIn(), OidcError);
    assertEquals(old.code, "invalid_id_token");
    assert(!old.message.includes("basic"), old.message);
  }
  // Asked for neither, the bridge needs no auth_time.
  const { idp, signIn } = await setup();
  idp.idTokenClaims = { auth_time: undefined };
  assertEquals((await signIn()).subject, idp.subject);
  assertStringIncludes(
    await readme(),
    "keep the default client scope **`basic`** (Keycloak 25 and later): it carries `auth_time`, " +
      'without which `prompt = "login"` or `max_age` in `oidc.authorize_params` refuses every ' +
      "sign-in (the log says the IdP sent no auth_time and names `basic`)",
  );
});

Deno.test('the README\'s Keycloak guide: a refresh Keycloak refuses for a disabled user (400 invalid_grant "User disabled") ends the grant', async () => {
  const { idp, client } = await setup();
  idp.onToken = () =>
    Response.json({ error: "invalid_grant", error_description: "User disabled" }, { status: 400 });
  const refused = await assertRejects(
    () => client.refresh("refresh-token-0", idp.subject),
    IdpRejectedError,
  );
  assertStringIncludes(refused.message, "HTTP 400 invalid_grant");
  assertStringIncludes(
    await readme(),
    'where Keycloak refuses the refresh (`invalid_grant`, "User disabled") and the session ends',
  );
});

Deno.test('the README\'s Keycloak guide: with "Exclude Issuer From Authentication Response" on (no `iss` in the callback) every sign-in fails', async () => {
  const { idp, signIn } = await setup();
  assertEquals((await signIn()).subject, idp.subject);
  const refused = await assertRejects(() => signIn("iss"), OidcError);
  assertEquals(refused.code, "invalid_callback");
  assertStringIncludes(refused.message, '"iss" (issuer) missing');
  assertStringIncludes(
    await readme(),
    'Keep "Exclude Issuer From Authentication Response" off (Advanced → OpenID Connect ' +
      "Compatibility Modes; on, every sign-in fails: `iss` missing)",
  );
});

Deno.test('the README\'s Keycloak guide: the bridge sends no DPoP proof, so "Require DPoP bound tokens" must stay off', async () => {
  const { idp, client, signIn } = await setup();
  const start = await client.startLogin("tag");
  assertEquals(start.url.searchParams.has("dpop_jkt"), false);
  await signIn();
  await client.refresh("refresh-token-0", idp.subject);
  const tokenRequests = idp.requests.filter((r) => r.url.pathname.endsWith(TOKEN));
  assertEquals(tokenRequests.length, 2);
  for (const request of tokenRequests) assertEquals(request.headers.get("dpop"), null);
  assertStringIncludes(
    await readme(),
    '"Require DPoP bound tokens" off (the bridge sends no DPoP proof)',
  );
});

/**
 * Whether Keycloak takes a client assertion with these times at its own `nowSec`: the checks of
 * Keycloak 26's JWT client validator, with its fixed 15 s of skew and the client's "Max
 * expiration" at its default, 60 s.
 */
function keycloakTakes(claims: { iat: number; nbf: number; exp: number }, nowSec: number): boolean {
  const skewSec = 15;
  const maxExpSec = 60;
  const active = nowSec <= claims.exp + skewSec && nowSec + skewSec >= claims.nbf;
  const issuedInTheFuture = claims.iat - skewSec > nowSec;
  const lifespan = Math.min(claims.exp - nowSec, maxExpSec);
  const tooOld = nowSec > claims.iat + maxExpSec;
  return active && !issuedInTheFuture && lifespan > 0 && !tooOld;
}

Deno.test("the README's Keycloak guide: a Signed JWT assertion is dated by the bridge's clock, which may be at most 15 s ahead of Keycloak's and less than 60 s behind", async () => {
  // Half a second into a second: the assertion's times are whole seconds, rounded down.
  const bridgeSec = Math.floor(Date.now() / 1000);
  const bridgeNowMs = bridgeSec * 1000 + 500;
  const key = await es256ClientKey();
  const { idp, signIn } = await setup(key.oidc, () => bridgeNowMs);
  idp.nowSec = bridgeSec;
  await signIn();
  const assertion = idp.lastRequest(TOKEN).form.get("client_assertion")!;
  const claims = JSON.parse(new TextDecoder().decode(decodeBase64url(assertion.split(".")[1]!)));
  assertEquals([claims.iat, claims.nbf, claims.exp], [bridgeSec, bridgeSec, bridgeSec + 60]);
  // The bridge's clock this far ahead of Keycloak's (negative: behind).
  const taken = (aheadSec: number) => keycloakTakes(claims, bridgeSec - aheadSec);
  assertEquals([taken(15), taken(16), taken(0), taken(-59), taken(-60)], [
    true,
    false,
    true,
    true,
    false,
  ]);
  assertStringIncludes(
    await readme(),
    "**the bridge host's clock must be at most 15 s ahead of Keycloak's and less than 60 s " +
      "behind it**",
  );
});
