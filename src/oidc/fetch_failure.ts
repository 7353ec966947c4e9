/**
 * What a fetch that failed before any answer says, for logs and the probe. Deno's error says only
 * "fetch failed" and keeps the refused connection, the DNS or the certificate error in `cause`;
 * Bun's says it at once and carries an OpenSSL `code`. A certificate that chains to no root the
 * bridge trusts is told apart, since its fix is `oidc.tls_ca_file`, not the network.
 */

import { errorText } from "../error_text.ts";

/** The fix for an IdP certificate that chains to no trusted root, as logs and the probe say it. */
export const UNTRUSTED_CERTIFICATE_FIX =
  "the IdP's certificate is not signed by a CA this host trusts: set oidc.tls_ca_file to the " +
  'PEM file of the CA that signed it (README, "Certificate authorities")';

/**
 * OpenSSL's verify results (Bun, node:tls) for a chain that ends at no trusted root. Others (a
 * name the certificate does not hold, an expired one) are fixed at the IdP, not here.
 */
const UNTRUSTED_CODES: ReadonlySet<string> = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
]);
/** rustls's (Deno) error for the same, a self-signed certificate included. */
const UNTRUSTED_MESSAGE = /invalid peer certificate: UnknownIssuer\b/;
/** How deep into `cause` a fetch error's evidence lies (Deno: two levels). */
const MAX_CAUSES = 4;

/** The error and its causes, joined; URLs in them lose their query and fragment. */
export function describeFetchFailure(error: unknown): string {
  const parts: string[] = [];
  for (const at of causes(error)) {
    const text = errorText(at);
    if (text !== "" && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  // Deno's cause quotes the whole URL: a query string is never logged (it might carry a token).
  return (parts.join(": ") || "fetch failed").replace(/(https?:\/\/[^\s?#)]*)[?#][^\s)]*/g, "$1");
}

/** Whether `error` (or a cause of it) says that the server's certificate is not trusted. */
export function isUntrustedCertificate(error: unknown): boolean {
  return causes(error).some((at) => {
    const code = (at as { code?: unknown } | null)?.code;
    if (typeof code === "string" && UNTRUSTED_CODES.has(code)) return true;
    return at instanceof Error && UNTRUSTED_MESSAGE.test(at.message);
  });
}

function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let at = error; at !== undefined && at !== null && out.length < MAX_CAUSES;) {
    out.push(at);
    at = at instanceof Error ? at.cause : undefined;
  }
  return out;
}
