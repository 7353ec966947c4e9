/**
 * The private_key_jwt key is judged when the config is loaded, by what can sign with it: a key
 * in another format or of another type than private_key_alg names is a config issue, not a
 * failure of every sign-in. Every key the check accepts is one the token requests can import.
 */
import { generateKeyPairSync } from "node:crypto";
import { assert, assertEquals } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { checkOidcConfig } from "../../../src/oidc/config_checks.ts";
import { createClientAuth } from "../../../src/oidc/client_auth.ts";
import { privateKeyProblem } from "../../../src/oidc/private_key.ts";
import { oidcConfig } from "./fake_idp.ts";

const pkcs8 = { format: "pem", type: "pkcs8" } as const;
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
const keys = {
  rsa: rsa.export(pkcs8) as string,
  rsaPkcs1: rsa.export({ format: "pem", type: "pkcs1" }) as string,
  p256: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export(pkcs8) as string,
  p384: generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export(pkcs8) as string,
  ed25519: generateKeyPairSync("ed25519").privateKey.export(pkcs8) as string,
  // `openssl genpkey -algorithm RSA-PSS` (neither runtime makes one): a test key, nothing else.
  rsaPss: [
    "-----BEGIN PRIVATE KEY-----",
    "MIICdQIBADALBgkqhkiG9w0BAQoEggJhMIICXQIBAAKBgQDI/9LF/9OwdNo70BcE",
    "zs0GD1cYeVoGoJm/CgVZMN3E9dRcLOty1NLDgIeJdRkXTSpS84BRjMbD7Lout4BB",
    "FDoAmkQ+5v8OjMeOcynxKi7VoQl6qVBUcwzi3SnnU3HvIuP1yAXYtLkWKP907T6K",
    "I3PRyNajcDnTcQhOI2LkVTqnwQIDAQABAoGBAIcQ2YrxwUeXDjsZNw6lBMKotkcc",
    "7LD9ZLMqQbPQkYXUB5K1ILZ2avayvOFSjbzJvsIlHLowFjT8M5RG/Ok+dUZWFsAJ",
    "It5hDEXgZReQulKCk2Ehzyz5kpDdJiwpz7pImrXGVQjZ9Bma9l5kAE29Ci6aR73Y",
    "5vnogBYGpvGvCuBRAkEA+fbZK3SWp0rJ/lyCvS/BZ7IoPx0VLsfRganyvin8SJ5M",
    "SKeqTftTZp17kZycy60AGh58snkTGQj5NLS8MzVSLQJBAM3aTHbI8ZwxYm1hIQg6",
    "asHg0Dsf3iTgVM7CpvwvFfSg4MGFcnvNWRttRcSfmPzuWwY1kRNB/9S0T8KhHEHH",
    "rGUCQEtoj82PR5/CbTuiNwLR9FvPIFsh7/ED8Q1X8tYxnl1d/A9zHWqXJmrvmYat",
    "I5RCZaR7jAzff8ZusZeX6qrcLCUCQFhGbNPjh/i7FMJjDI9CvdU2WxV/rPuTV8ry",
    "njk21+t3sepLF7UPck7YpTqUVj7g2BfpkLT5cIP+btW/0SZEQiECQQCnB14aira9",
    "tmWV67El4FCrmISxTYMGTWGDi5ncc0eRkHuB5xlcARO7tkiRaRDu2PgloFJlb186",
    "NtD07oyRo3aJ",
    "-----END PRIVATE KEY-----",
  ].join("\n"),
};

Deno.test("a key that fits its algorithm passes, and the token requests can sign with it", async () => {
  for (
    const [key, alg] of [
      [keys.rsa, "RS256"],
      [keys.rsa, "PS384"],
      [keys.p256, "ES256"],
      [keys.p384, "ES384"],
      [keys.ed25519, "EdDSA"],
    ] as const
  ) {
    assertEquals(privateKeyProblem(key, alg), undefined, alg);
    const config = oidcConfig({
      clientAuthMethod: "private_key_jwt",
      privateKey: new Secret(key),
      privateKeyAlg: alg,
    });
    assertEquals(checkOidcConfig(config), [], alg);
    await createClientAuth(config);
  }
});

Deno.test("a key in another format or of another type than private_key_alg is an issue at oidc.private_key, without quoting the key", () => {
  const cases: Array<[string, string, string]> = [
    [keys.rsaPkcs1, "RS256", "Not a PKCS#8 PEM key (BEGIN PRIVATE KEY)"],
    [keys.p256, "RS256", "A key of type ec (prime256v1) cannot sign RS256"],
    [keys.p384, "ES256", "A key of type ec (secp384r1) cannot sign ES256"],
    [keys.rsa, "ES256", "A key of type rsa cannot sign ES256"],
    [keys.ed25519, "ES512", "A key of type ed25519 cannot sign ES512"],
    // node:crypto reads it, the token requests' WebCrypto import does not.
    [keys.rsaPss, "PS256", "An RSA-PSS key (id-RSASSA-PSS) cannot be used"],
    ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "RS256", "Not a readable"],
  ];
  for (const [key, alg, expected] of cases) {
    const problems = checkOidcConfig(oidcConfig({
      clientAuthMethod: "private_key_jwt",
      privateKey: new Secret(key),
      privateKeyAlg: alg,
    }));
    assertEquals(problems.map((problem) => problem.key), ["private_key"], `${alg}: ${expected}`);
    const message = problems[0]!.message;
    assert(message.startsWith(expected), message);
    const body = key.split("\n")[1]!;
    assert(!message.includes(body.slice(0, 16)), "the key is not quoted");
  }
});
