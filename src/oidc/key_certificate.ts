/**
 * The certificate of the private_key_jwt key (`oidc.private_key_certificate_file`). Microsoft
 * Entra ID finds a client's key by the certificate registered for it, named by its thumbprint in
 * the assertion's header (`x5t`, SHA-1, in its older documentation; `x5t#S256`, SHA-256, in its
 * current "certificate credentials" page): an assertion without one is refused, whatever its
 * signature. Both are sent (RFC 7515, 4.1.7 and 4.1.8), so either reading finds the key.
 *
 * `keyCertificateProblem` runs when the config is loaded, so that a certificate of another key is
 * refused by `check-config` rather than by the IdP at every sign-in.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";
import { pkcs8Der } from "./private_key.ts";

/** The first certificate of a PEM file; a chain's others name the CAs, not the key. */
const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/;

/** The JOSE header members that name the certificate, as base64url of its DER's hash. */
export interface CertificateThumbprints {
  readonly x5t: string;
  readonly "x5t#S256": string;
}

function readCertificate(pem: string): X509Certificate | undefined {
  const block = CERTIFICATE_PEM.exec(pem)?.[0];
  if (block === undefined) return undefined;
  try {
    return new X509Certificate(block);
  } catch {
    return undefined;
  }
}

/**
 * Why the certificate `certificatePem` cannot go with the PKCS#8 key `keyPem` (the text of a
 * config issue), or undefined when it is that key's. A key that cannot be read is left to the
 * key's own check (privateKeyProblem).
 */
export function keyCertificateProblem(certificatePem: string, keyPem: string): string | undefined {
  const certificate = readCertificate(certificatePem);
  if (certificate === undefined) return "Not a PEM certificate (BEGIN CERTIFICATE)";
  let keySpki: Buffer;
  try {
    const der = pkcs8Der(keyPem);
    if (der === undefined) return undefined;
    const key = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    keySpki = createPublicKey(key).export({ type: "spki", format: "der" });
  } catch {
    return undefined;
  }
  const certificateSpki = certificate.publicKey.export({ type: "spki", format: "der" });
  if (!keySpki.equals(certificateSpki)) {
    return "The certificate is not private_key's: its public key is another key's";
  }
  return undefined;
}

/**
 * The thumbprints of the certificate in `certificatePem` (checked by keyCertificateProblem when
 * the config was loaded).
 * @throws {Error} when it holds no certificate
 */
export async function certificateThumbprints(
  certificatePem: string,
): Promise<CertificateThumbprints> {
  const certificate = readCertificate(certificatePem);
  if (certificate === undefined) throw new Error("Not a PEM certificate (BEGIN CERTIFICATE)");
  const der = new Uint8Array(certificate.raw);
  const thumbprint = async (hash: "SHA-1" | "SHA-256") =>
    Buffer.from(await crypto.subtle.digest(hash, der)).toString("base64url");
  return { x5t: await thumbprint("SHA-1"), "x5t#S256": await thumbprint("SHA-256") };
}
