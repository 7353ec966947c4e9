/**
 * Text for the admin's terminal and the logs that came from outside (VPN clients, the IdP, the
 * network). A terminal acts on C0 controls (newline, ESC), DEL and C1 (U+009B alone is a CSI),
 * so one such character could move the cursor, retitle the window or fake another line of
 * output; web log viewers end a line at U+2028 and U+2029 too, bidi-aware ones reorder the
 * text after a bidi control, and a zero-width character makes two different names look the
 * same. The admin commands, check-config and log lines (log.ts) show them all escaped, by the
 * one rule below.
 */
import { shapesTheText } from "./joiners_in_context.ts";

const C0 = "\\u0000-\\u001f";
const DEL_AND_C1 = "\\u007f-\\u009f";
/**
 * U+2028 and U+2029 (a user name holding one shows as two lines, the second looking like a
 * record of its own), and every character Unicode says is drawn as nothing unless a font or
 * renderer knows better (Default_Ignorable_Code_Point). That property holds all the bidi
 * controls (U+202A-U+202E, U+2066-U+2069: after U+202E a name reads backwards, and the rest of
 * the line with it; the marks U+061C, U+200E and U+200F, invisible, yet they reorder the neutral
 * characters around them), the zero-width U+200B-U+200D and U+FEFF, and more that look like
 * nothing: the word joiner U+2060, the soft hyphen U+00AD, the Hangul fillers (U+3164), the
 * variation selectors, the tag characters U+E0000-U+E007F. Any of them makes "alice" and
 * "al\u2060ice" look like one user in the audit log, on the confirm page, in the admin's table.
 * Four of them are drawn as nothing only out of place: a ZWNJ or ZWJ after an Indic virama, a
 * ZWNJ between two Arabic-script letters that would join, a ZWJ, U+FE0E or U+FE0F in an emoji
 * shape the characters next to them, so a name keeps them there (joiners_in_context.ts says
 * where) and shows as its owner wrote it.
 */
const LINE_SEPARATORS_AND_INVISIBLE = "\\u2028\\u2029\\p{Default_Ignorable_Code_Point}";
const NOT_PRINTABLE_CLASS = `[${C0}${DEL_AND_C1}${LINE_SEPARATORS_AND_INVISIBLE}]`;
const NOT_PRINTABLE = new RegExp(NOT_PRINTABLE_CLASS, "gu");
/** One character (code point) NOT_PRINTABLE matches, for mayBeEscaped(). */
const ONE_NOT_PRINTABLE = new RegExp(`^${NOT_PRINTABLE_CLASS}$`, "u");
/** JSON.stringify escapes C0 in strings itself (and its layout's newlines must stay). */
const LEFT_RAW_BY_JSON = new RegExp(`[${DEL_AND_C1}${LINE_SEPARATORS_AND_INVISIBLE}]`, "gu");

/**
 * `text` with every terminal control as `\xNN`, every line separator, bidi control and
 * zero-width character as `\uXXXX` (but a joiner or variation selector that shapes the text):
 * one line, readable, inert, in the order it was written.
 */
export function printable(text: string): string {
  return text.replace(NOT_PRINTABLE, escapeNotPrintable);
}

/**
 * Whether printable() and escapeLeftRawByJson() write `c`, one code point, as an escape: always,
 * or where it draws nothing (a joiner or variation selector that shapes the text is kept).
 */
export function mayBeEscaped(c: string): boolean {
  return ONE_NOT_PRINTABLE.test(c);
}

/**
 * A replacer for `replace()`, which passes the match, its index and the whole text (a function
 * made once, not per call, as it runs on every log line).
 */
function escapeNotPrintable(c: string, index: number, text: string): string {
  if (shapesTheText(text, index)) return c;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : unicodeEscape(c);
}

/**
 * `JSON.stringify(value, null, 2)` with no terminal control, line separator, bidi control or
 * zero-width character left raw (escapeLeftRawByJson).
 */
export function printableJson(value: unknown): string {
  return escapeLeftRawByJson(JSON.stringify(value, null, 2));
}

/**
 * JSON text (or a text log line, where inspect has escaped the other controls) with DEL, C1,
 * the line separators, the bidi controls and the zero-width characters as `\uXXXX` (but a
 * joiner or variation selector that shapes the text, as printable() keeps it). In JSON they can
 * stand only inside strings, where the escape parses back to the same character: still valid
 * JSON of the same value.
 */
export function escapeLeftRawByJson(text: string): string {
  return text.replace(LEFT_RAW_BY_JSON, escapeLeftRaw);
}

/** escapeNotPrintable() for what JSON leaves raw: `\uXXXX` only. */
function escapeLeftRaw(c: string, index: number, text: string): string {
  return shapesTheText(text, index) ? c : unicodeEscape(c);
}

/**
 * `\uXXXX` per UTF-16 unit, as JavaScript and JSON write a character: a tag character beyond
 * the Basic Multilingual Plane is its two surrogates (`\udb40\udc41`), which JSON parses back to it.
 */
function unicodeEscape(c: string): string {
  let escaped = "";
  for (let i = 0; i < c.length; i++) {
    escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
  }
  return escaped;
}
