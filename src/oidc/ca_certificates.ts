/**
 * The certificates of a PEM file of CAs (`oidc.tls_ca_file`): one or more `CERTIFICATE` blocks,
 * text between them allowed (the comments of a CA bundle, openssl's `subject=` lines). Refused
 * when it holds no certificate (a DER file), a block of another kind (a private key: the wrong
 * file, and one that must not lie about with the public CA), a block without its END line, or a
 * block node:crypto cannot read as X.509. A self-signed server certificate is accepted as it is:
 * Deno and Bun both take one given as a CA for its own host (measured on Deno 2.9, Bun 1.4).
 * Problems name the file and the block, never quote the content.
 */
import { X509Certificate } from "node:crypto";
import { errorText } from "../error_text.ts";

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Each certificate's PEM text, or what makes `text` (read from `file`) no file of CAs. */
export function parseCaCertificates(
  text: string,
  file: string,
): { certificates: string[] } | { problem: string } {
  const blocks = [...text.matchAll(BLOCK)];
  if (blocks.length !== [...text.matchAll(BEGIN)].length) {
    return { problem: `${file} is not PEM: a BEGIN line has no END line` };
  }
  const other = blocks.find(([, label]) => label !== "CERTIFICATE");
  if (other !== undefined) {
    return {
      problem: `${file} holds a ${other[1]}, not only certificates: give the CA's certificate`,
    };
  }
  if (blocks.length === 0) {
    return { problem: `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  }
  const certificates: string[] = [];
  for (const [index, [pem]] of blocks.entries()) {
    try {
      new X509Certificate(pem);
    } catch (error) {
      const why = errorText(error);
      return { problem: `${file}: certificate ${index + 1} cannot be read: ${why}` };
    }
    certificates.push(`${pem}\n`);
  }
  return { certificates };
}
