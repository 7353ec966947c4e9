/**
 * The fetch every request to the IdP goes out through, trusting the CAs of `oidc.tls_ca_file`
 * besides the roots the runtime trusts by default. The one place that knows the runtime's TLS
 * options; measured on Deno 2.9 and Bun 1.4 (README, "Certificate authorities"):
 * - Deno: `Deno.createHttpClient({ caCerts })` adds them to its default roots (the bundled
 *   Mozilla ones, or what DENO_TLS_CA_STORE, DENO_CERT and NODE_EXTRA_CA_CERTS say);
 * - Bun: fetch's `tls.ca` replaces the default roots (Mozilla's, NODE_EXTRA_CA_CERTS and the
 *   system's: /etc/ssl/certs, SSL_CERT_FILE, SSL_CERT_DIR), so those are given along with them,
 *   as node:tls lists them.
 * Without a CA file it is the runtime's fetch, as it was before the setting existed.
 */
import { getCACertificates } from "node:tls";
import type { TrustedCaFile } from "../config/types.ts";
import type { FetchLike } from "./http.ts";

export interface IdpTransport {
  readonly fetch: FetchLike;
  /** Frees the runtime's client (Deno); requests after it fail. */
  close(): void;
}

export function idpTransport(ca: TrustedCaFile | undefined): IdpTransport {
  if (ca === undefined) return { fetch: (input, init) => fetch(input, init), close: () => {} };
  if ("Bun" in globalThis) {
    const roots = [
      ...getCACertificates("default"),
      ...getCACertificates("system"),
      ...ca.certificates,
    ];
    return {
      // Bun's fetch takes `tls` next to the standard options.
      fetch: (input, init) => fetch(input, { ...init, tls: { ca: roots } } as RequestInit),
      close: () => {},
    };
  }
  const client = Deno.createHttpClient({ caCerts: [...ca.certificates] });
  return {
    fetch: (input, init) => fetch(input, { ...init, client }),
    close: () => client.close(),
  };
}
