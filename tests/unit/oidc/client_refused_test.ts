/**
 * What the log says when the IdP refuses the bridge itself rather than the user: a wrong client
 * secret at the first sign-in, or a discovery document naming another issuer. The message must
 * name the failed step, the HTTP status and OAuth error, and the keys to fix, and never the
 * secret or the IdP's body; the user's page stays generic.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { createOidcClient, type OidcClient } from "../../../src/oidc/client.ts";
import { IdpRejectedError, OidcError } from "../../../src/oidc/errors.ts";
import { base64url, CLIENT_ID, FakeIdp, ISSUER, oidcConfig, REDIRECT_URI } from "./fake_idp.ts";
import { es256ClientKey } from "../../support/signing_key.ts";
import { clientAuthCheck } from "../../../src/probe/checks.ts";
import { SIGNED_JWT_REFUSAL_ADVICE } from "../../../src/oidc/signed_jwt_advice.ts";

/** The secret oidcConfig() configures: no message may contain it. */
const SECRET = "s3cret:with/odd+chars";

async function setup(overrides: Parameters<typeof oidcConfig>[0] = {}) {
  const idp = await FakeIdp.create();
  const client = createOidcClient(oidcConfig(overrides), REDIRECT_URI, { fetch: idp.fetch });
  return { idp, client };
}

async function finishLogin(client: OidcClient, idp: FakeIdp): Promise<OidcError> {
  const start = await client.startLogin("tag");
  idp.nonce = start.nonce;
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  const error = await assertRejects(() => client.finishLogin(callback, start), OidcError);
  assert(!error.message.includes(SECRET) && !error.reason.includes(SECRET), error.message);
  return error;
}

Deno.test("finishLogin() refused with a bare 401 challenge (Basic error=invalid_client, no body) names the code exchange, the status and the keys to fix", async () => {
  const { idp, client } = await setup();
  idp.onToken = () =>
    new Response(null, {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="token", error="invalid_client"' },
    });
  const error = await finishLogin(client, idp);
  assertStringIncludes(error.message, "IdP refused the client's credentials (client_secret_basic)");
  assertStringIncludes(error.message, "at the code exchange (token request)");
  assertStringIncludes(error.message, "HTTP 401 invalid_client");
  assertStringIncludes(error.message, "check oidc.client_secret and oidc.client_auth_method");
  assertStringIncludes(error.message, "check-config --probe");
  assert(!error.message.includes("id_token"), error.message);
  // The signed JWT's reasons are for private_key_jwt alone.
  assert(!error.message.includes("signed JWT"), error.message);
  // The user's page: as generic as before.
  assertEquals(error.reason, "Invalid response from the identity provider");
});

Deno.test("finishLogin() refused with invalid_client or unauthorized_client in the body, or a bare 401, says the IdP refused the client, not the body", async () => {
  const refusals: Array<[() => Response, string]> = [
    [
      () =>
        Response.json({
          error: "invalid_client",
          error_description: "Invalid client credentials\u001b[2J",
        }, { status: 401 }),
      "HTTP 401 invalid_client",
    ],
    [
      () => Response.json({ error: "invalid_client" }, { status: 400 }),
      "HTTP 400 invalid_client",
    ],
    [
      () => Response.json({ error: "unauthorized_client" }, { status: 400 }),
      "HTTP 400 unauthorized_client",
    ],
    [() => new Response("<html>Unauthorized</html>", { status: 401 }), "HTTP 401 (no error body)"],
  ];
  for (const [refusal, said] of refusals) {
    const { idp, client } = await setup({ clientAuthMethod: "client_secret_post" });
    idp.onToken = refusal;
    const error = await finishLogin(client, idp);
    assertStringIncludes(
      error.message,
      "IdP refused the client's credentials (client_secret_post)",
    );
    assertStringIncludes(error.message, said);
    assert(!/Invalid client credentials|html/.test(error.message), error.message);
    assert(!hasTerminalControl(error.message), error.message);
    if (said.includes("unauthorized_client")) assertStringIncludes(error.message, "code flow");
  }
});

Deno.test("finishLogin() with private_key_jwt refused names oidc.private_key as the credential to check, and why an IdP refuses a signed JWT, as the probe does", async () => {
  const { idp, client } = await setup((await es256ClientKey()).oidc);
  let assertion = "";
  // An IdP that echoes the assertion it refused: the log line must not carry it.
  idp.onToken = (request) => {
    assertion = request.form.get("client_assertion") ?? "";
    return Response.json({
      error: "invalid_client",
      error_description: `Token was issued in the future: ${assertion}`,
    }, { status: 400 });
  };
  const error = await finishLogin(client, idp);
  assertStringIncludes(error.message, "(private_key_jwt)");
  assertStringIncludes(error.message, "HTTP 400 invalid_client");
  assertStringIncludes(error.message, "check oidc.private_key and oidc.client_auth_method");
  assertStringIncludes(error.message, "this host's clock is off from its own");
  assertStringIncludes(error.message, "holds another key for the client");
  assertStringIncludes(error.message, "another audience (oidc.client_assertion_audience)");
  assertStringIncludes(error.message, "or algorithm (oidc.private_key_alg)");
  // One wording: the probe's advice for the same refusal says the same.
  const probe = clientAuthCheck("private_key_jwt", {
    kind: "answered",
    status: 400,
    error: "invalid_client",
    description: undefined,
  });
  const advice = error.message.slice(error.message.indexOf("; the IdP also refuses") + 2);
  assertStringIncludes(probe.fix!, `With private_key_jwt, ${advice}.`);
  assert(assertion.startsWith("eyJ"), "the IdP got an assertion");
  for (const text of [error.message, error.reason]) {
    assert(!text.includes(assertion) && !text.includes("eyJ"), text);
    assert(!text.includes("PRIVATE KEY") && !text.includes("issued in the future"), text);
  }
});

Deno.test("finishLogin(): a refused code is still the user's (invalid_grant), and other errors name the code exchange", async () => {
  const { idp, client } = await setup();
  idp.onToken = () => Response.json({ error: "invalid_grant" }, { status: 400 });
  const rejected = await finishLogin(client, idp);
  assert(rejected instanceof IdpRejectedError, rejected.message);
  assertStringIncludes(rejected.message, "the code exchange (token request): invalid_grant");
  idp.onToken = () => Response.json({ error: "invalid_request" }, { status: 400 });
  const other = await finishLogin(client, idp);
  assertStringIncludes(other.message, "during the code exchange (token request): HTTP 400");
  assert(!other.message.includes("credentials"), other.message);
});

Deno.test("discovery of a document naming another issuer quotes that issuer, escaped, and offers it as oidc.issuer", async () => {
  const { idp, client } = await setup();
  idp.metadataExtras = { issuer: "https://kc.example.com/realms/vpn" };
  const error = await assertRejects(() => client.discover(), OidcError);
  assertStringIncludes(error.message, '"issuer" property does not match the expected value');
  assertStringIncludes(
    error.message,
    'the document names the issuer "https://kc.example.com/realms/vpn" ' +
      '(if that is this IdP, set oidc.issuer = "https://kc.example.com/realms/vpn")',
  );
  // The IdP's text: controls escaped, length bounded, and no fix offered for a cut one.
  idp.metadataExtras = { issuer: `https://kc.example.com/${"a".repeat(300)}\u009b2J` };
  const long = await assertRejects(() => client.discover(), OidcError);
  assert(!hasTerminalControl(long.message), long.message);
  assertStringIncludes(long.message, "(cut to 200 characters)");
  assert(!long.message.includes("set oidc.issuer"), long.message);
  idp.metadataExtras = { issuer: "https://kc.example.com/realms/\u001b]0;x\u0007vpn" };
  const controls = await assertRejects(() => client.discover(), OidcError);
  assert(!hasTerminalControl(controls.message), controls.message);
});

Deno.test("discovery of Entra ID's multi-tenant document (issuer {tenantid}) says the endpoint is not supported, and does not offer the template as oidc.issuer", async () => {
  const { idp, client } = await setup();
  const template = "https://login.microsoftonline.com/{tenantid}/v2.0";
  idp.metadataExtras = { issuer: template };
  const error = await assertRejects(() => client.discover(), OidcError);
  assertStringIncludes(error.message, `the document names the issuer "${template}", a template`);
  assertStringIncludes(error.message, "https://login.microsoftonline.com/<tenant-id>/v2.0");
  assert(!error.message.includes(`set oidc.issuer = "${template}"`), error.message);
});

Deno.test("an ID token signed with HS256 and the client secret (Authentik without a signing key) is refused, naming the algorithm problem", async () => {
  const { idp, client } = await setup();
  idp.metadataExtras = { id_token_signing_alg_values_supported: ["HS256"] };
  const start = await client.startLogin("tag");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => base64url(JSON.stringify(value));
  const signed = `${part({ alg: "HS256", typ: "JWT" })}.${
    part({
      iss: ISSUER,
      sub: idp.subject,
      aud: CLIENT_ID,
      iat: now,
      exp: now + 300,
      nonce: start.nonce,
      preferred_username: "alice",
    })
  }`;
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signed));
  idp.tokenExtras = { id_token: `${signed}.${base64url(new Uint8Array(mac))}` };
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  const error = await assertRejects(() => client.finishLogin(callback, start), OidcError);
  assertStringIncludes(error.message, "unsupported JWS algorithm");
  assert(!error.message.includes(SECRET), error.message);
});

/** Whether `text` holds a C0 control, DEL or a C1 control (what a terminal acts on). */
function hasTerminalControl(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || (c >= "\u007f" && c <= "\u009f"));
}

Deno.test("refresh() with private_key_jwt refused as invalid_client (or a bare 401) says why an IdP refuses a signed JWT, as the sign-in's line does; a secret client's does not", async () => {
  const refusals: Array<() => Response> = [
    () => Response.json({ error: "invalid_client" }, { status: 400 }),
    () =>
      new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Bearer error="invalid_client"' },
      }),
  ];
  for (const refusal of refusals) {
    const { idp, client } = await setup((await es256ClientKey()).oidc);
    idp.onToken = refusal;
    const error = await assertRejects(
      () => client.refresh("refresh-token-1", idp.subject),
      OidcError,
    );
    assertStringIncludes(error.message, "IdP refused the refresh request itself");
    assertStringIncludes(error.message, `; ${SIGNED_JWT_REFUSAL_ADVICE}; the sessions are kept`);
  }
  const { idp, client } = await setup();
  idp.onToken = refusals[0]!;
  const error = await assertRejects(
    () => client.refresh("refresh-token-1", idp.subject),
    OidcError,
  );
  assert(!error.message.includes("signed JWT"), error.message);
  assert(!error.message.includes(SECRET), error.message);
});
