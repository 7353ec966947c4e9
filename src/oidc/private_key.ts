/**
 * The client's key for private_key_jwt: a PKCS#8 PEM whose key fits the configured JWS
 * algorithm. `privateKeyProblem` runs when the config is loaded (node:crypto reads a key
 * synchronously), so that a key no token request could sign with is refused by `check-config`
 * instead of failing every sign-in; client_auth.ts imports the key through `pkcs8Der` too.
 */
import { createPrivateKey } from "node:crypto";
import { Buffer } from "node:buffer";

type SigningAlgorithm = RsaHashedImportParams | EcKeyImportParams;

/**
 * The JWS algorithms `oidc.private_key_alg` takes; the schema's list is this one. EdDSA is left
 * out although WebCrypto could sign with an Ed25519 key: oauth4webapi writes "Ed25519" (RFC 9864)
 * in the assertion's header, and identity providers (Keycloak included) expect "EdDSA".
 */
export const PRIVATE_KEY_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
] as const;

/**
 * `oidc.private_key_alg` when unset, and what server.toml.example (the package's server.toml) sets
 * with client_secret_basic.
 */
export const DEFAULT_PRIVATE_KEY_ALG = "RS256";

/** WebCrypto import parameters for a JWS algorithm name, or undefined when unsupported. */
export function signingAlgorithm(alg: string): SigningAlgorithm | undefined {
  switch (alg as (typeof PRIVATE_KEY_ALGORITHMS)[number]) {
    case "RS256":
    case "RS384":
    case "RS512":
      return { name: "RSASSA-PKCS1-v1_5", hash: `SHA-${alg.slice(2)}` };
    case "PS256":
    case "PS384":
    case "PS512":
      return { name: "RSA-PSS", hash: `SHA-${alg.slice(2)}` };
    case "ES256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "ES384":
      return { name: "ECDSA", namedCurve: "P-384" };
    case "ES512":
      return { name: "ECDSA", namedCurve: "P-521" };
    default:
      return undefined;
  }
}

const PKCS8_PEM = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/;

/** The DER bytes of a PKCS#8 PEM ("BEGIN PRIVATE KEY"), or undefined for anything else. */
export function pkcs8Der(pem: string): Uint8Array<ArrayBuffer> | undefined {
  const body = PKCS8_PEM.exec(pem)?.[1];
  if (body === undefined) return undefined;
  return Uint8Array.from(atob(body.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/** node:crypto's names for the key types each JWS algorithm signs with. */
function expectedKey(algorithm: SigningAlgorithm): { types: string[]; curve?: string | undefined } {
  switch (algorithm.name) {
    case "RSASSA-PKCS1-v1_5":
      return { types: ["rsa"] };
    case "RSA-PSS":
      // An rsaEncryption key signs PS*; WebCrypto refuses id-RSASSA-PSS keys (Deno without
      // parameters or with another hash, Bun at all), though node:crypto reads them.
      return { types: ["rsa"] };
    default: {
      const curve = (algorithm as EcKeyImportParams).namedCurve;
      return {
        types: ["ec"],
        curve: { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" }[curve],
      };
    }
  }
}

/**
 * Why `pem` cannot sign for `alg` (the text of a config issue), or undefined when it can.
 * Never quotes the key.
 */
export function privateKeyProblem(pem: string, alg: string): string | undefined {
  const algorithm = signingAlgorithm(alg);
  if (algorithm === undefined) return `Unsupported private key algorithm: ${alg}`;
  let der: Uint8Array<ArrayBuffer> | undefined;
  try {
    der = pkcs8Der(pem);
  } catch {
    // atob: base64 that does not decode.
  }
  if (der === undefined) {
    return "Not a PKCS#8 PEM key (BEGIN PRIVATE KEY); convert one with " +
      "`openssl pkcs8 -topk8 -nocrypt -in key.pem`";
  }
  let type: string | undefined;
  let curve: string | undefined;
  try {
    const key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    type = key.asymmetricKeyType;
    curve = key.asymmetricKeyDetails?.namedCurve;
  } catch {
    return "Not a readable PKCS#8 private key";
  }
  const expected = expectedKey(algorithm);
  const fits = type !== undefined && expected.types.includes(type) &&
    (expected.curve === undefined || curve === expected.curve);
  if (fits) return undefined;
  const what = curve === undefined ? type : `${type} (${curve})`;
  if (type === "rsa-pss") {
    return "An RSA-PSS key (id-RSASSA-PSS) cannot be used: give an rsaEncryption PKCS#8 key, " +
      "which signs PS256-PS512 (`openssl genpkey -algorithm RSA`)";
  }
  return `A key of type ${what} cannot sign ${alg} (private_key_alg)`;
}
