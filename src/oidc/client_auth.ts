/** Client authentication at the token and revocation endpoints, built from the configuration. */
import * as oauth from "oauth4webapi";
import type { ResolvedConfig } from "../config/types.ts";
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
      return oauth.PrivateKeyJwt(key);
    }
    case "none":
      return oauth.None();
  }
}
