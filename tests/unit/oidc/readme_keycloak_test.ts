/**
 * README, "Keycloak client settings": what the guide says the bridge does with a Keycloak client
 * set up otherwise than it says, held to the bridge's behaviour against the fake IdP, and the
 * guide's own words held to that behaviour.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { systemClock } from "../../../src/clock.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { OidcError } from "../../../src/oidc/errors.ts";
import { callbackFor, FakeIdp, ISSUER, oidcConfig, REDIRECT_URI } from "./fake_idp.ts";

const README = new URL("../../../README.md", import.meta.url);

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
    const start = await client.startLogin();
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
