/**
 * `oidc.private_key` and a `private_key_alg` other than the default are read by private_key_jwt
 * alone. With another client_auth_method they were ignored in silence, and an operator who set
 * them would believe the key in use: check-config and the service warn (the load's warnings,
 * which check-config prints and the service logs at start and reload), naming the method to
 * set, and still load the config.
 */
import { assertEquals } from "../../support/assert.ts";
import { es256ClientKey } from "../../support/signing_key.ts";
import { minimalTomlWith, parseTestConfig } from "../../support/config_toml.ts";

const METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;

/** MINIMAL_TOML signing in with `method` (no client secret for "none"), plus `lines` in [oidc]. */
function withMethod(method: string, lines: readonly string[]): string {
  const source = minimalTomlWith("oidc", [`client_auth_method = "${method}"`, ...lines]);
  return method === "none" ? source.replace('client_secret = "s3cret"\n', "") : source;
}

/** The warnings of loading `source`, as key, line and text. */
function warningsOf(source: string) {
  return parseTestConfig(source).warnings.map(({ path, line, message }) => ({
    path,
    line,
    message,
  }));
}

/** The warning's text for `key` set with `method`. */
function unusedText(method: string, afterRemoval = ""): string {
  return `Not used when client_auth_method is "${method}" (only "private_key_jwt" reads it): ` +
    'set client_auth_method = "private_key_jwt" if the client is registered at the IdP with a ' +
    `key (Keycloak: "Signed JWT"), or remove it${afterRemoval}`;
}

Deno.test('parseConfig() warns about oidc.private_key and a private_key_alg other than "RS256" set with a secret method or none, and loads the config', () => {
  for (const method of METHODS) {
    const source = withMethod(method, ['private_key = "not read"', 'private_key_alg = "PS256"']);
    const line = (key: string) =>
      source.split("\n").findIndex((text) => text.startsWith(`${key} =`)) + 1;
    assertEquals(warningsOf(source), [
      { path: "oidc.private_key", line: line("private_key"), message: unusedText(method) },
      {
        path: "oidc.private_key_alg",
        line: line("private_key_alg"),
        message: unusedText(method, ', leaving the default "RS256"'),
      },
    ], method);
    assertEquals(parseTestConfig(source).config.oidc.clientAuthMethod, method);
  }
});

Deno.test('parseConfig() does not warn about private_key_alg = "RS256" (the default, server.toml.example\'s) with any method, nor about a key with private_key_jwt', async () => {
  for (const method of METHODS) {
    assertEquals(warningsOf(withMethod(method, ['private_key_alg = "RS256"'])), [], method);
  }
  const pem = (await es256ClientKey()).oidc.privateKey!.reveal();
  const signed = withMethod("private_key_jwt", [
    `private_key = """\n${pem}"""`,
    'private_key_alg = "ES256"',
  ]).replace('client_secret = "s3cret"\n', "");
  assertEquals(warningsOf(signed), []);
});

Deno.test("parseConfig() warns about oidc.client_secret (or client_secret_file) set with private_key_jwt, naming the secret methods, and loads the config", async () => {
  const pem = (await es256ClientKey()).oidc.privateKey!.reveal();
  const signed = withMethod("private_key_jwt", [
    `private_key = """\n${pem}"""`,
    'private_key_alg = "ES256"',
  ]);
  const message = 'Not used when client_auth_method is "private_key_jwt" (only ' +
    '"client_secret_basic" and "client_secret_post" read it): set client_auth_method = ' +
    '"client_secret_basic" if the client is registered at the IdP with a secret (Keycloak: ' +
    '"Client Id and Secret"), or remove it (or client_secret_file)';
  const line = signed.split("\n").findIndex((text) => text.startsWith("client_secret =")) + 1;
  assertEquals(warningsOf(signed), [{ path: "oidc.client_secret", line, message }]);
  assertEquals(parseTestConfig(signed).config.oidc.clientAuthMethod, "private_key_jwt");
  // From a file: the same warning, at the key the secret is resolved to.
  const fromFile = signed.replace('client_secret = "s3cret"', 'client_secret_file = "/s"');
  const loaded = parseTestConfig(fromFile, {}, { "/s": "s3cret\n" });
  assertEquals(loaded.warnings.map(({ path, message }) => ({ path, message })), [{
    path: "oidc.client_secret",
    message,
  }]);
});
