/**
 * The private_key_jwt key is judged when the config is loaded, by what can sign with it: a key
 * in another format or of another type than private_key_alg names is a config issue, not a
 * failure of every sign-in. Every key the check accepts is one the token requests sign with: the
 * client assertion names the configured algorithm and verifies with the key's public half.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { assert, assertEquals } from "../../support/assert.ts";
import { Secret } from "../../../src/config/secret.ts";
import { checkOidcConfig } from "../../../src/oidc/config_checks.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { PRIVATE_KEY_ALGORITHMS, privateKeyProblem } from "../../../src/oidc/private_key.ts";
import { CLIENT_ID, decodeBase64url, FakeIdp, oidcConfig, REDIRECT_URI } from "./fake_idp.ts";

const pkcs8 = { format: "pem", type: "pkcs8" } as const;
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const keys = {
  rsa: rsa.privateKey.export(pkcs8) as string,
  rsaPkcs1: rsa.privateKey.export({ format: "pem", type: "pkcs1" }) as string,
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

/**
 * How a relying party checks each JWS algorithm's signature, written out here rather than taken
 * from src: the public key's import parameters and the verify parameters (RFC 7518 §3).
 */
const verifiers: Record<
  string,
  {
    key: RsaHashedImportParams | EcKeyImportParams | Algorithm;
    verify: RsaPssParams | EcdsaParams | Algorithm;
  }
> = {
  RS256: {
    key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    verify: { name: "RSASSA-PKCS1-v1_5" },
  },
  RS384: {
    key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
    verify: { name: "RSASSA-PKCS1-v1_5" },
  },
  RS512: {
    key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
    verify: { name: "RSASSA-PKCS1-v1_5" },
  },
  PS256: { key: { name: "RSA-PSS", hash: "SHA-256" }, verify: { name: "RSA-PSS", saltLength: 32 } },
  PS384: { key: { name: "RSA-PSS", hash: "SHA-384" }, verify: { name: "RSA-PSS", saltLength: 48 } },
  PS512: { key: { name: "RSA-PSS", hash: "SHA-512" }, verify: { name: "RSA-PSS", saltLength: 64 } },
  ES256: {
    key: { name: "ECDSA", namedCurve: "P-256" },
    verify: { name: "ECDSA", hash: "SHA-256" },
  },
  ES384: {
    key: { name: "ECDSA", namedCurve: "P-384" },
    verify: { name: "ECDSA", hash: "SHA-384" },
  },
  ES512: {
    key: { name: "ECDSA", namedCurve: "P-521" },
    verify: { name: "ECDSA", hash: "SHA-512" },
  },
};

/** The client assertion a login's token request carried, signed with `pem` for `alg`. */
async function clientAssertion(pem: string, alg: string): Promise<string> {
  const idp = await FakeIdp.create();
  const client = createOidcClient(
    oidcConfig({
      clientAuthMethod: "private_key_jwt",
      clientSecret: undefined,
      privateKey: new Secret(pem),
      privateKeyAlg: alg,
    }),
    REDIRECT_URI,
    { fetch: idp.fetch },
  );
  const start = await client.startLogin("tag");
  idp.nonce = start.nonce;
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  await client.finishLogin(callback, start);
  const request = idp.lastRequest("/protocol/openid-connect/token");
  assertEquals(
    request.form.get("client_assertion_type"),
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    alg,
  );
  const assertion = request.form.get("client_assertion");
  assert(assertion !== null, `${alg}: no client assertion`);
  return assertion;
}

Deno.test("a key that fits its algorithm passes, and the token requests can sign with it", async () => {
  const rsaPublic = rsa.publicKey;
  const pairs = {
    p256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
    p384: generateKeyPairSync("ec", { namedCurve: "P-384" }),
    p521: generateKeyPairSync("ec", { namedCurve: "P-521" }),
  };
  const cases: Array<[string, KeyObject, KeyObject]> = [
    ["RS256", rsa.privateKey, rsaPublic],
    ["RS384", rsa.privateKey, rsaPublic],
    ["RS512", rsa.privateKey, rsaPublic],
    ["PS256", rsa.privateKey, rsaPublic],
    ["PS384", rsa.privateKey, rsaPublic],
    ["PS512", rsa.privateKey, rsaPublic],
    ["ES256", pairs.p256.privateKey, pairs.p256.publicKey],
    ["ES384", pairs.p384.privateKey, pairs.p384.publicKey],
    ["ES512", pairs.p521.privateKey, pairs.p521.publicKey],
  ];
  // Every algorithm oidc.private_key_alg takes (the schema's list is this one).
  assertEquals(cases.map(([alg]) => alg), [...PRIVATE_KEY_ALGORITHMS]);
  for (const [alg, privateKey, publicKey] of cases) {
    const pem = privateKey.export(pkcs8) as string;
    assertEquals(privateKeyProblem(pem, alg), undefined, alg);
    const config = oidcConfig({
      clientAuthMethod: "private_key_jwt",
      privateKey: new Secret(pem),
      privateKeyAlg: alg,
    });
    assertEquals(checkOidcConfig(config), [], alg);
    const [head, body, signature] = (await clientAssertion(pem, alg)).split(".");
    const header = JSON.parse(new TextDecoder().decode(decodeBase64url(head!)));
    assertEquals(header.alg, alg, alg);
    const claims = JSON.parse(new TextDecoder().decode(decodeBase64url(body!)));
    assertEquals([claims.iss, claims.sub], [CLIENT_ID, CLIENT_ID], alg);
    const verifier = verifiers[alg]!;
    const spki = new Uint8Array(publicKey.export({ format: "der", type: "spki" }));
    const key = await crypto.subtle.importKey("spki", spki, verifier.key, false, ["verify"]);
    const valid = await crypto.subtle.verify(
      verifier.verify,
      key,
      decodeBase64url(signature!),
      new TextEncoder().encode(`${head}.${body}`),
    );
    assert(valid, `${alg}: the signature does not verify with the public key`);
  }
});

// oauth4webapi would name an Ed25519 key "Ed25519" (RFC 9864) in the header, where identity
// providers expect "EdDSA": neither name is taken.
Deno.test("EdDSA and Ed25519 are refused at oidc.private_key_alg, the key unread", () => {
  for (const alg of ["EdDSA", "Ed25519"]) {
    const problems = checkOidcConfig(oidcConfig({
      clientAuthMethod: "private_key_jwt",
      privateKey: new Secret(keys.ed25519),
      privateKeyAlg: alg,
    }));
    assertEquals(problems, [{
      key: "private_key_alg",
      message: `Unsupported private key algorithm: ${alg}`,
    }]);
    assertEquals(privateKeyProblem(keys.ed25519, alg), `Unsupported private key algorithm: ${alg}`);
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
