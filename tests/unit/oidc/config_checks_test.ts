import { assertEquals } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { checkOidcConfig, reservedAuthorizeParams } from "../../../src/oidc/config_checks.ts";
import { oidcConfig } from "./fake_idp.ts";

Deno.test("reservedAuthorizeParams() names protocol parameters regardless of case", () => {
  assertEquals(
    reservedAuthorizeParams({ prompt: "login", STATE: "x", nonce: "y", kc_idp_hint: "corp" }),
    ["STATE", "nonce"],
  );
});

Deno.test("checkOidcConfig() accepts a complete configuration", () => {
  assertEquals(checkOidcConfig(oidcConfig()), []);
});

const cases: Array<[string, Parameters<typeof oidcConfig>[0], string]> = [
  [
    "plain http to a remote issuer",
    { issuer: new URL("http://idp.example.com/realms/vpn") },
    "issuer",
  ],
  // search and hash are "" for these; the href, which discovery compares, keeps the "?" or "#".
  [
    "an issuer ending in a bare ?",
    { issuer: new URL("https://idp.example.com/realms/vpn?") },
    "issuer",
  ],
  [
    "an issuer ending in a bare #",
    { issuer: new URL("https://idp.example.com/realms/vpn#") },
    "issuer",
  ],
  ["scopes without openid", { scopes: ["profile"] }, "scopes"],
  [
    "a reserved authorize param",
    { authorizeParams: { redirect_uri: "x" } },
    "authorize_params.redirect_uri",
  ],
  ["client_secret_post without a secret", {
    clientAuthMethod: "client_secret_post",
    clientSecret: undefined,
  }, "client_secret"],
  ["client_secret_basic with an empty secret", { clientSecret: new Secret("") }, "client_secret"],
  ["private_key_jwt without a key", { clientAuthMethod: "private_key_jwt" }, "private_key"],
  [
    "a max_age that is not whole seconds",
    { authorizeParams: { max_age: "1h" } },
    "authorize_params.max_age",
  ],
  ["an unknown key algorithm", {
    clientAuthMethod: "private_key_jwt",
    privateKey: new Secret("pem"),
    privateKeyAlg: "HS256",
  }, "private_key_alg"],
];

for (const [what, overrides, key] of cases) {
  Deno.test(`checkOidcConfig() reports ${what} at oidc.${key}`, () => {
    assertEquals(checkOidcConfig(oidcConfig(overrides)).map((p) => p.key), [key]);
  });
}

Deno.test("checkOidcConfig() allows plain http on loopback for local IdPs", () => {
  assertEquals(
    checkOidcConfig(oidcConfig({ issuer: new URL("http://127.0.0.1:8180/realms/vpn") })),
    [],
  );
});
