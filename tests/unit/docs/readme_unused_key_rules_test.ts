/**
 * README, Keycloak and Entra ID: the keys only private_key_jwt reads, and what the bridge does
 * when one is set with another client_auth_method. Each key the README says is warned about must
 * be warned about (and the config loaded), each it says is refused must be refused, at its key.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { es256ClientKey } from "../../support/signing_key.ts";
import { configIssuesOf, minimalTomlWith, parseTestConfig } from "../../support/config_toml.ts";

const README = new URL("../../../README.md", import.meta.url);

/** A value each key takes that is not its default, and the file it names, if any. */
const SETTINGS: Record<string, string> = {
  private_key: '"not read"',
  private_key_alg: '"PS256"',
  private_key_certificate_file: '"/etc/openvpn-auth-oidc/client-cert.pem"',
  client_assertion_audience: '"token_endpoint"',
};

/** MINIMAL_TOML (client_secret_basic) with `key` set in [oidc]. */
function withKey(key: string): string {
  const value = SETTINGS[key];
  assert(value !== undefined, `no test value for ${key}`);
  return minimalTomlWith("oidc", [`${key} = ${value}`]);
}

const FILES = { "/etc/openvpn-auth-oidc/client-cert.pem": "not read either" };

async function readmeText(): Promise<string> {
  return (await Deno.readTextFile(README)).replace(/\s+/g, " ");
}

/** The `oidc.x` or `x` names in `text`, as bare keys. */
function keysIn(text: string): string[] {
  return [...text.matchAll(/`(?:oidc\.)?(\w+)`/g)].map(([, key]) => key!);
}

function assertWarned(key: string): void {
  const { warnings } = parseTestConfig(withKey(key), {}, FILES);
  assertEquals(warnings.map(({ path }) => path), [`oidc.${key}`], key);
}

Deno.test("the keys the README's Keycloak section says are warned about without private_key_jwt are warned about", async () => {
  const sentence =
    /Only `private_key_jwt` reads (.+?): set with another `client_auth_method` they are not used, and `check-config` and the service \(at start and reload\) warn about each/
      .exec(await readmeText())?.[1];
  assert(sentence !== undefined, "the README's Keycloak section says which keys are warned about");
  assertEquals(keysIn(sentence), ["private_key", "private_key_alg"]);
  for (const key of keysIn(sentence)) assertWarned(key);
});

Deno.test("the README's Entra ID section: the keys it says are refused without private_key_jwt are refused, the one warned about is warned about", async () => {
  const rule =
    /the bridge refuses a configuration that sets (.+?) \(`"issuer"`, the default, passes\), and warns about (`\w+`)/
      .exec(await readmeText());
  assert(rule !== null, "the README's Entra ID section says what is refused and warned about");
  assertEquals(keysIn(rule[1]!), ["private_key_certificate_file", "client_assertion_audience"]);
  for (const key of keysIn(rule[1]!)) {
    assertEquals(configIssuesOf(withKey(key), {}, FILES).map(({ path }) => path), [`oidc.${key}`]);
  }
  assertEquals(keysIn(rule[2]!), ["private_key_alg"]);
  assertWarned("private_key_alg");
});

Deno.test("the README's Keycloak section: a client secret set with private_key_jwt is warned about, as it says", async () => {
  const rule =
    /The other way round, (.+?) set with `private_key_jwt` is not sent either, and is warned about alike, naming `client_auth_method = "client_secret_basic"`/
      .exec(await readmeText());
  assert(rule !== null, "the README's Keycloak section says a client secret is warned about");
  assertEquals(keysIn(rule[1]!), ["client_secret", "client_secret_file"]);
  const signed = minimalTomlWith("oidc", [
    'client_auth_method = "private_key_jwt"',
    `private_key = """\n${(await es256ClientKey()).oidc.privateKey!.reveal()}"""`,
    'private_key_alg = "ES256"',
  ]);
  const { warnings } = parseTestConfig(signed);
  assertEquals(warnings.map(({ path }) => path), ["oidc.client_secret"]);
  assertStringIncludes(warnings[0]!.message, 'client_auth_method = "client_secret_basic"');
});
