/**
 * How log and audit lines write a client's certificate name. A client without a certificate has
 * none (bridge/certificate_name.ts: ""), and `CONNECT of "" (cid 4)` reads as a blank some bug
 * left; `(no certificate)` says what it is. A certificate could be named so only by the
 * operator's own CA: the client chooses nothing here.
 */
export const NO_CERTIFICATE = "(no certificate)";

/** `commonName` as a log or audit line writes it: NO_CERTIFICATE for none. */
export function loggedCertificateName(commonName: string): string {
  return commonName === "" ? NO_CERTIFICATE : commonName;
}
