/**
 * How a client's certificate name is written for people: log and audit lines, the tables of
 * `sessions list` and `logins list`, an English confirm.html template's `{{commonName}}`
 * (http/pages/messages.ts, noCertificate, has it in the page's other languages). A client
 * without a certificate has none (bridge/certificate_name.ts: ""), and `CONNECT of "" (cid 4)`
 * or an empty table cell reads as a blank some bug left; `(no certificate)` says what it is. A
 * log line writes it as words (log_words.ts), unquoted, so that it is not read as a name: a
 * certificate named `(no certificate)` by the operator's own CA is quoted as any name is.
 * Here, not in bridge/certificate_name.ts, because audit.ts (the lowest layer) needs it too.
 */
import { type Words, wordsFor } from "./log_words.ts";

export const NO_CERTIFICATE = "(no certificate)";

/** No certificate, in a log line: words in its sentence, "" in a JSON line's property. */
const NO_CERTIFICATE_WORDS = wordsFor("", NO_CERTIFICATE);

/** `commonName` as a log line's property: NO_CERTIFICATE_WORDS for none, else the name. */
export function loggedCertificateName(commonName: string): string | Words {
  return commonName === "" ? NO_CERTIFICATE_WORDS : commonName;
}

/** `commonName` as a table cell or a page's text: NO_CERTIFICATE for none. */
export function certificateNameText(commonName: string): string {
  return commonName === "" ? NO_CERTIFICATE : commonName;
}
