/** Client authentication at the token and revocation endpoints, built from the configuration. */
import * as oauth from "oauth4webapi";
import type { ResolvedConfig } from "../config/types.ts";
import { certificateThumbprints } from "./key_certificate.ts";
import { pkcs8Der, signingAlgorithm } from "./private_key.ts";

/** Reads a PKCS#8 PEM ("BEGIN PRIVATE KEY") into a non-extractable WebCrypto signing key. */
async function importPrivateKeyPem(pem: string, alg: string): Promise<CryptoKey> {
  const algorithm = signingAlgorithm(alg);
  if (algorithm === undefined) throw new Error(`Unsupported private key algorithm: ${alg}`);
  const der = pkcs8Der(pem);
  if (der === undefined) throw new Error("Private key is not a PKCS#8 PEM (BEGIN PRIVATE KEY)");
  try {
    return await crypto.subtle.importKey("pkcs8", der, algorithm, false, ["sign"]);
  } catch (error) {
    throw new Error(`Private key does not fit algorithm ${alg}`, { cause: error });
  }
}

/**
 * private_key_jwt with what the configuration adds to oauth4webapi's assertion: the
 * certificate's thumbprints in its header (computed once, here) and the token endpoint as its
 * `aud` (key_certificate.ts, OidcConfig.clientAssertionAudience).
 */
async function privateKeyJwt(
  key: CryptoKey,
  config: Pick<ResolvedConfig["oidc"], "privateKeyCertificateFile" | "clientAssertionAudience">,
): Promise<oauth.ClientAuth> {
  const certificate = config.privateKeyCertificateFile;
  const thumbprints = certificate === undefined
    ? undefined
    : await certificateThumbprints(certificate.pem);
  const toTokenEndpoint = config.clientAssertionAudience === "token_endpoint";
  if (thumbprints === undefined && !toTokenEndpoint) return oauth.PrivateKeyJwt(key);
  return (as, client, body, headers) => {
    const audience = as.token_endpoint;
    // Fails closed: an assertion for an unnamed audience would be refused at the IdP anyway.
    if (toTokenEndpoint && audience === undefined) {
      throw new Error("The IdP names no token_endpoint for the assertion's audience");
    }
    return oauth.PrivateKeyJwt(key, {
      [oauth.modifyAssertion]: (header, payload) => {
        if (thumbprints !== undefined) Object.assign(header, thumbprints);
        if (toTokenEndpoint) payload["aud"] = audience;
      },
    })(as, client, body, headers);
  };
}

export async function createClientAuth(config: ResolvedConfig["oidc"]): Promise<oauth.ClientAuth> {
  switch (config.clientAuthMethod) {
    case "client_secret_basic":
    case "client_secret_post": {
      const secret = config.clientSecret?.reveal();
      if (secret === undefined || secret === "") {
        throw new Error(`A client secret is required for ${config.clientAuthMethod}`);
      }
      return config.clientAuthMethod === "client_secret_basic"
        ? oauth.ClientSecretBasic(secret)
        : oauth.ClientSecretPost(secret);
    }
    case "private_key_jwt": {
      if (config.privateKey === undefined) {
        throw new Error("A private key is required for private_key_jwt");
      }
      const key = await importPrivateKeyPem(config.privateKey.reveal(), config.privateKeyAlg);
      return privateKeyJwt(key, config);
    }
    case "none":
      return oauth.None();
  }
}
