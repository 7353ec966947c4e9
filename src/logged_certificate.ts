/**
 * How a client's certificate name is written for people: log and audit lines, the tables of
 * `sessions list` and `logins list`, an English confirm.html template's `{{commonName}}`
 * (http/pages/messages.ts, noCertificate, has it in the page's other languages). A client
 * without a certificate has none (bridge/certificate_name.ts: ""), and `CONNECT of "" (cid 4)`
 * or an empty table cell reads as a blank some bug left; `(no certificate)` says what it is. A
 * certificate could be named so only by the operator's own CA: the client chooses nothing here.
 * Here, not in bridge/certificate_name.ts, because audit.ts (the lowest layer) needs it too.
 */
export const NO_CERTIFICATE = "(no certificate)";

/** `commonName` as people read it: NO_CERTIFICATE for none. */
export function loggedCertificateName(commonName: string): string {
  return commonName === "" ? NO_CERTIFICATE : commonName;
}
