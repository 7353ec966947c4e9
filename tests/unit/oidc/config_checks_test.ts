import { assert, assertEquals } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import {
  checkOidcConfig,
  miscasedAuthorizeParams,
  reservedAuthorizeParams,
  STANDARD_AUTHORIZE_PARAMS,
} from "../../../src/oidc/config_checks.ts";
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
  // Sent space-separated: the IdP would see two scopes where the checks saw one.
  ["a scope holding a space", { scopes: ["openid", "profile email"] }, "scopes[1]"],
  ["a scope holding a tab", { scopes: ["openid", "profile\temail"] }, "scopes[1]"],
  ["an empty scope", { scopes: ["openid", ""] }, "scopes[1]"],
  [
    "a reserved authorize param",
    { authorizeParams: { redirect_uri: "x" } },
    "authorize_params.redirect_uri",
  ],
  // The IdP would ignore these, and the bridge would skip its auth_time check for prompt=login.
  [
    "a prompt spelt with a capital letter",
    { authorizeParams: { Prompt: "login" } },
    "authorize_params.Prompt",
  ],
  [
    "a max_age in another case (not checked as whole seconds either)",
    { authorizeParams: { Max_Age: "abc" } },
    "authorize_params.Max_Age",
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
  // More tolerance would accept ID and logout tokens long expired.
  ["a clock tolerance over 10m", { clockToleranceSec: 601 }, "clock_tolerance"],
  ["a negative clock tolerance", { clockToleranceSec: -1 }, "clock_tolerance"],
  // Past about 24.8 days a timer fires at once, cutting off every IdP request as it starts.
  ["an http timeout over 10m", { httpTimeoutMs: 600_001 }, "http_timeout"],
  ["an http timeout of 0", { httpTimeoutMs: 0 }, "http_timeout"],
];

Deno.test("checkOidcConfig() accepts the clock tolerance and http timeout at their bounds", () => {
  for (
    const overrides of [{ clockToleranceSec: 600 }, { clockToleranceSec: 0 }, {
      httpTimeoutMs: 600_000,
    }]
  ) {
    assertEquals(checkOidcConfig(oidcConfig(overrides)), [], JSON.stringify(overrides));
  }
});

Deno.test("checkOidcConfig() words a timeout or tolerance out of bounds as the config schema does", () => {
  assertEquals(checkOidcConfig(oidcConfig({ httpTimeoutMs: 0, clockToleranceSec: 601 })), [
    { key: "http_timeout", message: "Expected a duration from 1ms to 10m, got 0 ms" },
    { key: "clock_tolerance", message: "Expected a duration from 0s to 10m, got 601000 ms" },
  ]);
});

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

Deno.test("checkOidcConfig() refuses a standard parameter name in another case and says which spelling is meant", () => {
  assertEquals(
    checkOidcConfig(oidcConfig({ authorizeParams: { Prompt: "login", LOGIN_HINT: "a@b" } })),
    [
      {
        key: "authorize_params.Prompt",
        message: 'Parameter names are case-sensitive: write "prompt" (the IdP ignores "Prompt")',
      },
      {
        key: "authorize_params.LOGIN_HINT",
        message:
          'Parameter names are case-sensitive: write "login_hint" (the IdP ignores "LOGIN_HINT")',
      },
    ],
  );
});

Deno.test("miscasedAuthorizeParams() names every standard parameter in another case, and nothing spelt right", () => {
  for (
    const meant of [
      "prompt",
      "max_age",
      "login_hint",
      "acr_values",
      "ui_locales",
      "display",
      "id_token_hint",
      "claims",
    ]
  ) {
    assert(STANDARD_AUTHORIZE_PARAMS.has(meant), meant);
  }
  for (const meant of STANDARD_AUTHORIZE_PARAMS) {
    const upper = meant.toUpperCase();
    const first = meant[0]!.toUpperCase() + meant.slice(1);
    assertEquals(miscasedAuthorizeParams({ [upper]: "x", [first]: "x" }), [
      { name: upper, meant },
      { name: first, meant },
    ]);
  }
  const rightOnes = Object.fromEntries([...STANDARD_AUTHORIZE_PARAMS].map((name) => [name, "1"]));
  assertEquals(
    miscasedAuthorizeParams({ ...rightOnes, kc_idp_hint: "corp", Access_Type: "x" }),
    [],
  );
  assertEquals(checkOidcConfig(oidcConfig({ authorizeParams: rightOnes })), []);
  // A reserved name in another case is refused as reserved, once.
  assertEquals(
    checkOidcConfig(oidcConfig({ authorizeParams: { State: "x" } })).map((p) => p.key),
    ["authorize_params.State"],
  );
});
