/**
 * How many bytes a string value can take in a log line, at most, in either format (log.ts), for
 * cutting values to a size a collector takes (audit.ts). The most is in a JSON line's message:
 * LogTape writes a value there as JSON text inside the message's JSON string, so an escape is
 * escaped again (a control character is `\\u0001`, 7 bytes; a quote `\\\"`, 4). Elsewhere
 * (the JSON properties, a text line's inspect, printable()) the same character takes no more,
 * but for a newline: a text line's inspect (Deno's, Bun's) breaks a long string at each into
 * parts joined by ` +` on new lines, which oneLine() writes as `\n" +\n  "`, 10 bytes.
 */
import { mayBeEscaped } from "./printable_text.ts";

/** A newline in a text line (above). */
const NEWLINE_BYTES = 10;

/** The most loggedBytes() gives per UTF-16 unit: so a value that short needs no measuring. */
export const MAX_LOGGED_BYTES_PER_UNIT = NEWLINE_BYTES;

/** The most bytes `c`, one code point (or a lone surrogate), takes where a line writes it. */
export function loggedBytes(c: string): number {
  const code = c.codePointAt(0)!;
  if (code >= 0x20 && code <= 0x7e) return c === '"' || c === "\\" ? 4 : 1;
  if (c === "\n") return NEWLINE_BYTES;
  // JSON's `\u0001` (or `\ud800` for a lone surrogate), escaped again in the message.
  if (code < 0x20 || (code >= 0xd800 && code <= 0xdfff)) return 7;
  // `\uXXXX` per UTF-16 unit (printable_text.ts): DEL, C1, line separators, invisible ones.
  if (mayBeEscaped(c)) return 6 * c.length;
  // Written raw, in UTF-8.
  return code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
}

/** loggedBytes() of every code point of `text`. */
export function loggedBytesOf(text: string): number {
  let bytes = 0;
  for (const c of text) bytes += loggedBytes(c);
  return bytes;
}
