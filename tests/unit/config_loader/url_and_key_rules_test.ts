/**
 * URLs whose text keeps an empty query or fragment ("https://idp/realms/vpn?"), and the
 * private_key_alg list, private_key_jwt's settings with another method: config loading refuses
 * what the service could not use, or would ignore, naming the key.
 * A user name or password in a URL or an address is never quoted back.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../support/assert.ts";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { ConfigError, withoutUserinfo } from "../../../src/config_loader/errors.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";

/** Path and message of each issue (no lines: the sources here are built by replacing). */
function issuesOf(source: string, files: Record<string, string> = {}) {
  return configIssuesOf(source, {}, files).map(({ path, message }) => ({ path, message }));
}

const ISSUER = "https://sso.example.com/realms/vpn";
const BASE_URL = "https://vpn.example.com";

// oauth4webapi compares the discovered issuer with the href, which keeps a bare "?" or "#":
// discovery would fail on every sign-in. Login links would read ".../#/login/<id>".
for (const tail of ["?", "#", "?a=b", "#top", "?#"]) {
  Deno.test(`parseConfig() refuses an issuer ending in "${tail}" at oidc.issuer`, () => {
    assertEquals(issuesOf(MINIMAL_TOML.replace(ISSUER, ISSUER + tail)), [{
      path: "oidc.issuer",
      message: "The issuer must not contain a query or fragment",
    }]);
  });

  Deno.test(`parseConfig() refuses a base URL ending in "${tail}" at http.base_url`, () => {
    for (const base of [BASE_URL + tail, `${BASE_URL}/${tail}`]) {
      assertEquals(issuesOf(MINIMAL_TOML.replace(`"${BASE_URL}"`, `"${base}"`)), [{
        path: "http.base_url",
        message: "Must not contain a query or fragment",
      }], base);
    }
  });
}

function privateKeyJwt(alg: string, key: string) {
  return parseTestConfig(
    MINIMAL_TOML.replace(
      'client_secret = "s3cret"',
      [
        'client_auth_method = "private_key_jwt"',
        'private_key_file = "/etc/key.pem"',
        `private_key_alg = "${alg}"`,
      ].join("\n"),
    ),
    {},
    { "/etc/key.pem": key },
  );
}

const pem = (key: KeyObject) => key.export({ format: "pem", type: "pkcs8" }) as string;

Deno.test("parseConfig() takes every RS, PS and ES algorithm as private_key_alg", () => {
  const rsa = pem(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
  const ec = (namedCurve: string) => pem(generateKeyPairSync("ec", { namedCurve }).privateKey);
  const keys: Record<string, string> = {
    ES256: ec("P-256"),
    ES384: ec("P-384"),
    ES512: ec("P-521"),
  };
  for (const size of [256, 384, 512]) {
    for (const alg of [`RS${size}`, `PS${size}`, `ES${size}`]) {
      const { config } = privateKeyJwt(alg, keys[alg] ?? rsa);
      assertEquals(config.oidc.privateKeyAlg, alg);
    }
  }
});

Deno.test("parseConfig() refuses EdDSA as private_key_alg, naming the algorithms it takes", () => {
  const issues = issuesOf(
    MINIMAL_TOML.replace(
      'client_secret = "s3cret"',
      'client_auth_method = "private_key_jwt"\nprivate_key_file = "/etc/key.pem"\nprivate_key_alg = "EdDSA"',
    ),
    { "/etc/key.pem": pem(generateKeyPairSync("ed25519").privateKey) },
  );
  assertEquals(issues.map((issue) => issue.path), ["oidc.private_key_alg"]);
  assertStringIncludes(issues[0]!.message, '"RS512"');
  assertStringIncludes(issues[0]!.message, 'got "EdDSA"');
});

Deno.test('parseConfig() refuses client_assertion_audience = "token_endpoint" without private_key_jwt, saying to remove it (not to change the method)', () => {
  const withAudience = (method: string, audience: string) =>
    MINIMAL_TOML.replace(
      'client_secret = "s3cret"',
      [
        method === "none" ? "" : 'client_secret = "s3cret"',
        `client_auth_method = "${method}"`,
        `client_assertion_audience = "${audience}"`,
      ].join("\n"),
    );
  for (const method of ["client_secret_basic", "client_secret_post", "none"]) {
    assertEquals(issuesOf(withAudience(method, "token_endpoint")), [{
      path: "oidc.client_assertion_audience",
      message: `Not used when client_auth_method is "${method}" (only "private_key_jwt" reads ` +
        'it): remove it, leaving the default "issuer"',
    }], method);
    // The default, which server.toml.example (the package's server.toml) sets: asks for nothing.
    const { config } = parseTestConfig(withAudience(method, "issuer"));
    assertEquals(config.oidc.clientAuthMethod, method);
  }
});

Deno.test("no config issue quotes a URL's user name or password, whichever check refused it", () => {
  for (
    const [variable, value] of <Array<[string, string]>> [
      ["OPENVPN_AUTH_OIDC_OIDC_ISSUER", "http://admin:s3cret-pw@idp.example.com/realms/vpn"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", "ftp://admin:s3cret-pw@vpn.example.com"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", "https://admin:s3cret-pw@vpn example.com"],
      // Base64 passwords hold "/": no URL then, and the mask stopped at the slash.
      ["OPENVPN_AUTH_OIDC_OIDC_ISSUER", "https://svc:Zm9v/s3cret-pw@idp.example.com/realms/vpn"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", "https://svc:Zm9v/s3cret-pw@vpn.example.com"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", 'https://svc:a"b s3cret-pw@vpn.example.com'],
      // Without "//": the URL parser (and a reader) still find a user and a password there.
      ["OPENVPN_AUTH_OIDC_OIDC_ISSUER", "https:admin:s3cret-pw@idp.example.com/realms/vpn"],
      ["OPENVPN_AUTH_OIDC_OIDC_ISSUER", "HTTPS:/admin:s3cret-pw@idp.example.com/realms/vpn?"],
      ["OPENVPN_AUTH_OIDC_OIDC_ISSUER", "https:\\\\admin:s3cret-pw@idp.example.com/realms/vpn#"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", "http:admin:s3cret-pw@vpn.example.com/?"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", "https:admin:s3cret-pw@vpn example.com"],
      ["OPENVPN_AUTH_OIDC_HTTP_BASE_URL", "wss:admin:s3cret-pw@vpn.example.com"],
      // A key that quotes what it refuses: the URL written into the backend, not sessions.url.
      ["OPENVPN_AUTH_OIDC_SESSIONS_BACKEND", "redis:admin:s3cret-pw@db.example.com:6379"],
      ["OPENVPN_AUTH_OIDC_SESSIONS_BACKEND", "rediss:/admin:s3cret-pw@db.example.com"],
      ["OPENVPN_AUTH_OIDC_SESSIONS_BACKEND", "https:admin:s3cret-pw@db.example.com"],
    ]
  ) {
    const error = assertThrows(
      () => parseTestConfig(MINIMAL_TOML, { [variable]: value }),
      ConfigError,
    );
    assert(!error.message.includes("s3cret-pw"), error.message);
    assert(!error.issues.some((issue) => issue.message.includes("s3cret-pw")), variable);
  }
  assertEquals(withoutUserinfo('got "https://u:p@idp/x"'), 'got "https://***@idp/x"');
  assertEquals(withoutUserinfo('got "https://u:a/b@c@idp/x"'), 'got "https://***@idp/x"');
  // Every URL of a message, not only the first.
  assertEquals(
    withoutUserinfo('"https://u:p@idp/x" and "redis://v:q@db:6379"'),
    '"https://***@idp/x" and "redis://***@db:6379"',
  );
  // The schemes a reader finds user info in without "//" (log_mask's SCHEME_WITHOUT_SLASHES).
  assertEquals(
    withoutUserinfo('got "https:u:p@idp/x", "HTTP:/u:p@idp", "redis:u:p@db"'),
    'got "https:***@idp/x", "HTTP:/***@idp", "redis:***@db"',
  );
  assertEquals(withoutUserinfo('got "https:\\\\u:p@idp"'), 'got "https:\\\\***@idp"');
  // Another word's tail is no scheme: "xhttps:" has a path, no user info.
  assertEquals(withoutUserinfo('got "xhttps:u@idp"'), 'got "xhttps:u@idp"');
});

// A password written into an address: withoutUserinfo masks only "scheme://user@", and
// parseManagement used to quote a tcp:// address without its scheme.
const ADDRESSES_WITH_PASSWORDS: ReadonlyArray<[string, string, string]> = [
  [
    "openvpn.management",
    "OPENVPN_AUTH_OIDC_OPENVPN_MANAGEMENT",
    "tcp://admin:S3cretPw@10.0.0.5:7505",
  ],
  ["openvpn.management", "OPENVPN_AUTH_OIDC_OPENVPN_MANAGEMENT", "tcp://:S3cretPw@10.0.0.5:7505"],
  ["openvpn.management", "OPENVPN_AUTH_OIDC_OPENVPN_MANAGEMENT", "admin:S3cretPw@10.0.0.5:7505"],
  ["http.listen", "OPENVPN_AUTH_OIDC_HTTP_LISTEN", "user:S3cretPw@127.0.0.1:9000"],
  ["metrics.listen", "OPENVPN_AUTH_OIDC_METRICS_LISTEN", "user:S3cretPw@127.0.0.1:9101"],
  // Lists: the entry is refused whole, so its message must not quote it either.
  [
    "http.trusted_proxies[0]",
    "OPENVPN_AUTH_OIDC_HTTP_TRUSTED_PROXIES",
    '["admin:S3cretPw@10.0.0.1"]',
  ],
  [
    "http.form_action_origins[0]",
    "OPENVPN_AUTH_OIDC_HTTP_FORM_ACTION_ORIGINS",
    '["admin:S3cretPw@login.example.com"]',
  ],
];

Deno.test("parseConfig() refuses a password in an address without quoting it", () => {
  for (const [key, variable, value] of ADDRESSES_WITH_PASSWORDS) {
    const error = assertThrows(
      () => parseTestConfig(MINIMAL_TOML, { [variable]: value }),
      ConfigError,
    );
    assert(!error.message.includes("S3cretPw"), error.message);
    assertEquals(error.issues.map((issue) => issue.path), [key], value);
    assertStringIncludes(error.issues[0]!.message, "no user name or password", value);
  }
  // As the review found it: in the file, the tcp:// form.
  const error = assertThrows(
    () =>
      parseTestConfig(
        MINIMAL_TOML.replace("unix:///run/openvpn/mgmt.sock", ADDRESSES_WITH_PASSWORDS[0]![2]),
      ),
    ConfigError,
  );
  assert(!error.message.includes("S3cretPw"), error.message);
  assertStringIncludes(error.message, "openvpn.password_file");
});

Deno.test("parseConfig() takes a unix socket path with an @ in it", () => {
  const socket = "unix:///run/openvpn/server@udp.sock";
  const { config } = parseTestConfig(MINIMAL_TOML.replace("unix:///run/openvpn/mgmt.sock", socket));
  assertEquals(config.servers[0]!.management, {
    kind: "unix",
    path: "/run/openvpn/server@udp.sock",
  });
});
