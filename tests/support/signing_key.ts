import { Secret } from "../../src/config/secret.ts";
import type { ResolvedConfig } from "../../src/config/types.ts";

/**
 * A fresh ECDSA P-256 key for `private_key_jwt`: `oidc` are the settings that sign the client's
 * assertions with it (no client secret; the private key as the PKCS#8 PEM `oidc.private_key`
 * holds, in 64-character lines), and `publicKey` verifies what was signed.
 */
export async function es256ClientKey(): Promise<{
  oidc: Partial<ResolvedConfig["oidc"]>;
  publicKey: CryptoKey;
}> {
  const pair = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  ) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${
    btoa(String.fromCharCode(...pkcs8)).replace(/(.{64})/g, "$1\n")
  }\n-----END PRIVATE KEY-----\n`;
  return {
    oidc: {
      clientAuthMethod: "private_key_jwt",
      clientSecret: undefined,
      privateKey: new Secret(pem),
      privateKeyAlg: "ES256",
    },
    publicKey: pair.publicKey,
  };
}
