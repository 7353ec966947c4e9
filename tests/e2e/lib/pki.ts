/**
 * A throw-away PKI for the lab, made with the plain `openssl` CLI: an EC P-256 CA, one server
 * certificate (serverAuth) and client certificates (clientAuth) made on first use and cached.
 */

import { join } from "node:path";
import { type CertificateFiles, createCa, issueCertificate } from "../../support/certificates.ts";
import { run } from "./command.ts";

export interface Pki {
  readonly dir: string;
  /** CA certificate, trusted by both ends. */
  readonly caCert: string;
  /** Certificate with CN "server" and the serverAuth extended key usage. */
  readonly server: CertificateFiles;
  /** Static key for `tls-crypt`, or undefined when created with `tlsCrypt: false`. */
  readonly tlsCryptKey: string | undefined;
  /** Certificate with CN `name` and the clientAuth extended key usage; made once per name. */
  clientCert(name: string): Promise<CertificateFiles>;
  /**
   * Key for `auth-gen-token-secret` (`openvpn --genkey auth-token`), made on first use: one for
   * the whole lab, so its servers accept each other's tokens, also across their restarts.
   */
  authTokenKey(): Promise<string>;
}

export interface PkiOptions {
  /** Generate a `tls-crypt` key with `openvpn --genkey secret` (default true). */
  readonly tlsCrypt?: boolean;
  /** Certificate validity in days (default 2: enough for a run, useless afterwards). */
  readonly days?: number;
}

// Common names end up in file names and in OpenVPN's common_name: keep them boring.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Creates the CA, server certificate and optional tls-crypt key in `dir` (which must exist). */
export async function createPki(dir: string, options: PkiOptions = {}): Promise<Pki> {
  const days = options.days ?? 2;
  const ca = await createCa(dir, "ca", "oao-e2e-test-ca", days);
  const caCert = ca.cert;

  const issue = (name: string, usage: "serverAuth" | "clientAuth") => {
    if (!SAFE_NAME.test(name)) {
      return Promise.reject(new Error(`Unsafe certificate name: ${JSON.stringify(name)}`));
    }
    return issueCertificate(ca, dir, name, [
      "keyUsage=critical,digitalSignature",
      `extendedKeyUsage=${usage}`,
    ], days);
  };

  const server = await issue("server", "serverAuth");
  let tlsCryptKey: string | undefined;
  if (options.tlsCrypt ?? true) {
    tlsCryptKey = join(dir, "tls-crypt.key");
    await run("openvpn", ["--genkey", "secret", tlsCryptKey]);
  }

  // Promises, not results, are cached so that two concurrent requests for one name share a run.
  const clients = new Map<string, Promise<CertificateFiles>>();
  let authTokenKey: Promise<string> | undefined;
  return {
    dir,
    caCert,
    server,
    tlsCryptKey,
    clientCert(name) {
      if (name === "server" || name === "ca") {
        return Promise.reject(new Error(`Reserved certificate name: ${name}`));
      }
      let cert = clients.get(name);
      if (cert === undefined) {
        cert = issue(name, "clientAuth");
        clients.set(name, cert);
      }
      return cert;
    },
    authTokenKey() {
      authTokenKey ??= (async () => {
        const path = join(dir, "auth-token.key");
        await run("openvpn", ["--genkey", "auth-token", path]);
        return path;
      })();
      return authTokenKey;
    },
  };
}
