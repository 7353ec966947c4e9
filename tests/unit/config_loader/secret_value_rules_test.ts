/**
 * What a secret's value may be: never empty, inline or in its `*_file` (an empty password or
 * client secret fails open at whatever checks it), and a file's value is its text without one
 * trailing newline, `\r\n` included (a file written on Windows).
 */
import { assertEquals } from "../../support/assert.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";

const FROM_FILE = MINIMAL_TOML.replace(
  'client_secret = "s3cret"',
  'client_secret_file = "/run/secret"',
);

Deno.test("parseConfig() refuses an empty secret file, and one holding only a newline", () => {
  for (const text of ["", "\n", "\r\n"]) {
    assertEquals(
      configIssuesOf(FROM_FILE, {}, { "/run/secret": text }).map(({ path, message }) => ({
        path,
        message,
      })),
      [{ path: "oidc.client_secret_file", message: "File /run/secret is empty" }],
      JSON.stringify(text),
    );
  }
});

Deno.test("parseConfig() reads a secret file ending in CRLF without the CR", () => {
  const { config } = parseTestConfig(FROM_FILE, {}, { "/run/secret": "from-file\r\n" });
  assertEquals(config.oidc.clientSecret?.reveal(), "from-file");
});

Deno.test("parseConfig() refuses an empty inline secret, from the file or the environment", () => {
  const inline = MINIMAL_TOML.replace('client_secret = "s3cret"', 'client_secret = ""');
  assertEquals(configIssuesOf(inline), [
    { path: "oidc.client_secret", message: "Must not be empty", line: 12 },
  ]);
  assertEquals(configIssuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: "" }), [
    {
      path: "oidc.client_secret",
      message: "Must not be empty (from OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET)",
    },
  ]);
});

Deno.test("parseConfig() refuses every spelling of the placeholder http secret, however long", () => {
  const placeholder = "0123456789abcdef0123456789abcdef";
  for (const word of ["change-me", "changeme", "CHANGE-ME", "ChangeMe"]) {
    const source = MINIMAL_TOML.replace(placeholder, `${word}-${placeholder}`);
    assertEquals(
      configIssuesOf(source).map(({ path, message }) => ({ path, message })),
      [{
        path: "http.secret",
        message:
          "A placeholder, not a secret: use random characters (e.g. openssl rand -base64 48)",
      }],
      word,
    );
  }
});

Deno.test("parseConfig() refuses the shipped placeholder client secret, from the file, its *_file or the environment", () => {
  // server.toml.example (the package's server.toml) ships this value: unedited, the service
  // started and every sign-in failed at the identity provider.
  const message =
    "A placeholder, not a secret: set the client secret the identity provider issued for client_id";
  for (const word of ["change-me", "changeme", "CHANGE-ME", "ChangeMe"]) {
    const inline = MINIMAL_TOML.replace('client_secret = "s3cret"', `client_secret = "${word}"`);
    assertEquals(configIssuesOf(inline), [{ path: "oidc.client_secret", message, line: 12 }], word);
    assertEquals(
      configIssuesOf(FROM_FILE, {}, { "/run/secret": `${word}\n` })
        .map(({ path, message }) => ({ path, message })),
      [{ path: "oidc.client_secret", message }],
      word,
    );
    assertEquals(
      configIssuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET: word }),
      [{
        path: "oidc.client_secret",
        message: `${message} (from OPENVPN_AUTH_OIDC_OIDC_CLIENT_SECRET)`,
      }],
      word,
    );
  }
});

Deno.test("parseConfig() refuses a placeholder encryption key, Redis password or management password: the rule of every secret", () => {
  const random = "use random characters (e.g. openssl rand -base64 48)";
  const cases = [
    {
      // 43 base64url characters: a valid 32-byte key, were it not the placeholder.
      toml: '[sessions]\nencryption_key = "change-me-change-me-change-me-change-me-cha"\n',
      path: "sessions.encryption_key",
      instead: "use 32 random bytes (e.g. openssl rand -base64 32)",
    },
    {
      toml: '[sessions]\nbackend = "redis"\nurl = "redis://127.0.0.1:6379/0"\n' +
        'password = "changeme"\n',
      path: "sessions.password",
      instead: random,
    },
    { toml: "", path: "openvpn.password", instead: random },
  ];
  for (const { toml, path, instead } of cases) {
    const source = path === "openvpn.password"
      ? MINIMAL_TOML.replace("[http]", () => 'password = "Change-Me"\n[http]')
      : `${MINIMAL_TOML}\n${toml}`;
    assertEquals(
      configIssuesOf(source).map(({ path, message }) => ({ path, message })),
      [{ path, message: `A placeholder, not a secret: ${instead}` }],
      path,
    );
  }
});

Deno.test("parseConfig() accepts a random encryption key, Redis password and management password", () => {
  const source = MINIMAL_TOML.replace("[http]", () => 'password = "k2Jq9vX0pL"\n[http]') +
    '\n[sessions]\nbackend = "redis"\nurl = "redis://127.0.0.1:6379/0"\npassword = "r4nd0m"\n' +
    'encryption_key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"\n';
  const { config } = parseTestConfig(source);
  assertEquals(config.servers[0]!.password?.reveal(), "k2Jq9vX0pL");
  assertEquals(config.sessions.redis?.password?.reveal(), "r4nd0m");
});
