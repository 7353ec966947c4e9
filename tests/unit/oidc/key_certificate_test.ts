/**
 * private_key_jwt for Microsoft Entra ID ("certificate credentials"): the assertion names the
 * key's certificate by its thumbprints (`x5t`, `x5t#S256`) and, with `client_assertion_audience =
 * "token_endpoint"`, has the token endpoint as its `aud`. The certificate is checked against the
 * key when the config is loaded.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { Secret } from "../../../src/config/secret.ts";
import type { ResolvedConfig } from "../../../src/config/types.ts";
import { createClientAuth } from "../../../src/oidc/client_auth.ts";
import { createCa } from "../../support/certificates.ts";
import { configIssuesOf, MINIMAL_TOML, parseTestConfig } from "../../support/config_toml.ts";
import { oidcConfig } from "./fake_idp.ts";

const AS = {
  issuer: "https://login.microsoftonline.com/tenant-id/v2.0",
  token_endpoint: "https://login.microsoftonline.com/tenant-id/oauth2/v2.0/token",
};

/** Two throw-away EC P-256 keys with their self-signed certificates (PKCS#8 keys), as PEM text. */
async function keysAndCertificates() {
  const dir = await Deno.makeTempDir();
  try {
    const read = async (file: string) => await Deno.readTextFile(join(dir, file));
    await createCa(dir, "bridge", "vpn-bridge");
    await createCa(dir, "other", "someone-else");
    return {
      key: await read("bridge.key"),
      certificate: await read("bridge.crt"),
      otherCertificate: await read("other.crt"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The header and payload of the assertion `overrides`' client authentication sends. */
async function assertionOf(overrides: Partial<ResolvedConfig["oidc"]>) {
  const auth = await createClientAuth(oidcConfig({
    clientAuthMethod: "private_key_jwt",
    clientSecret: undefined,
    privateKeyAlg: "ES256",
    ...overrides,
  }));
  const body = new URLSearchParams();
  await auth(AS, { client_id: "app-id" }, body, new Headers());
  const [header, payload, signature] = body.get("client_assertion")!.split(".");
  const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString());
  return {
    header: decode(header!),
    payload: decode(payload!),
    signed: new TextEncoder().encode(`${header}.${payload}`),
    signature: new Uint8Array(Buffer.from(signature!, "base64url")),
  };
}

/** A certificate's fingerprint as openssl-style hex (node:crypto), as base64url. */
const base64url = (hex: string) =>
  Buffer.from(hex.replaceAll(":", ""), "hex").toString("base64url");

Deno.test("private_key_jwt with the key's certificate: x5t and x5t#S256 in the header, aud the token endpoint when asked, still signed by the key", async () => {
  const { key, certificate } = await keysAndCertificates();
  const x509 = new X509Certificate(certificate);
  const { header, payload, signed, signature } = await assertionOf({
    privateKey: new Secret(key),
    privateKeyCertificateFile: { path: "/etc/openvpn-auth-oidc/client.crt", pem: certificate },
    clientAssertionAudience: "token_endpoint",
  });
  assertEquals(header, {
    alg: "ES256",
    x5t: base64url(x509.fingerprint),
    "x5t#S256": base64url(x509.fingerprint256),
  });
  assertEquals([payload.aud, payload.iss, payload.sub], [AS.token_endpoint, "app-id", "app-id"]);
  // Changed before it was signed: the IdP checks the signature over what it reads.
  const publicKey = await crypto.subtle.importKey(
    "spki",
    new Uint8Array(x509.publicKey.export({ type: "spki", format: "der" })),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  assertEquals(
    await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, signature, signed),
    true,
  );
});

Deno.test("private_key_jwt by default: aud the issuer (oauth4webapi's), no thumbprint without a certificate", async () => {
  const { key, certificate } = await keysAndCertificates();
  const plain = await assertionOf({ privateKey: new Secret(key) });
  assertEquals([plain.header, plain.payload.aud], [{ alg: "ES256" }, AS.issuer]);
  const named = await assertionOf({
    privateKey: new Secret(key),
    privateKeyCertificateFile: { path: "/etc/client.crt", pem: certificate },
  });
  assertEquals(Object.keys(named.header).sort(), ["alg", "x5t", "x5t#S256"]);
  assertEquals(named.payload.aud, AS.issuer);
});

Deno.test("parseConfig() refuses a private_key_certificate_file of another key, or without private_key_jwt, naming the key", async () => {
  const { key, certificate, otherCertificate } = await keysAndCertificates();
  const source = (lines: string[]) =>
    MINIMAL_TOML.replace('client_secret = "s3cret"', lines.join("\n"));
  const issues = (lines: string[], files: Record<string, string>) =>
    configIssuesOf(source(lines), {}, files).map(({ path, message }) => ({ path, message }));
  const jwt = [
    'client_auth_method = "private_key_jwt"',
    'private_key_file = "/etc/key.pem"',
    'private_key_alg = "ES256"',
    'private_key_certificate_file = "/etc/client.crt"',
    'client_assertion_audience = "token_endpoint"',
  ];
  const { config } = parseTestConfig(source(jwt), {}, {
    "/etc/key.pem": key,
    "/etc/client.crt": certificate,
  });
  assertEquals(config.oidc.privateKeyCertificateFile, {
    path: "/etc/client.crt",
    pem: certificate,
  });
  assertEquals(config.oidc.clientAssertionAudience, "token_endpoint");
  assertEquals(issues(jwt, { "/etc/key.pem": key, "/etc/client.crt": otherCertificate }), [{
    path: "oidc.private_key_certificate_file",
    message:
      "/etc/client.crt: The certificate is not private_key's: its public key is another key's",
  }]);
  const [notPem] = issues(jwt, { "/etc/key.pem": key, "/etc/client.crt": key });
  assertStringIncludes(notPem!.message, "Not a PEM certificate (BEGIN CERTIFICATE)");
  assertEquals(
    issues(['client_secret = "s3cret"', 'private_key_certificate_file = "/etc/client.crt"'], {
      "/etc/client.crt": certificate,
    }),
    [{
      path: "oidc.private_key_certificate_file",
      message: 'Not used when client_auth_method is "client_secret_basic" (only ' +
        '"private_key_jwt" reads it): remove it',
    }],
  );
});
