/**
 * Text for the admin's terminal and the logs that came from outside (VPN clients, the IdP, the
 * network). A terminal acts on C0 controls (newline, ESC), DEL and C1 (U+009B alone is a CSI),
 * so one such character could move the cursor, retitle the window or fake another line of
 * output; web log viewers end a line at U+2028 and U+2029 too, bidi-aware ones reorder the
 * text after a bidi control, and a zero-width character makes two different names look the
 * same. The admin commands, check-config and log lines (log.ts) show them all escaped, by the
 * one rule below.
 */

const C0 = "\\u0000-\\u001f";
const DEL_AND_C1 = "\\u007f-\\u009f";
/**
 * U+2028 and U+2029 (a user name holding one shows as two lines, the second looking like a
 * record of its own); the bidi controls, all of Unicode's Bidi_Control: U+202A-U+202E and
 * U+2066-U+2069 (after U+202E a name reads backwards, and the rest of the line with it) and the
 * marks U+061C, U+200E and U+200F (invisible, yet they reorder the neutral characters around
 * them); and the zero-width U+200B-U+200D and U+FEFF, which show as nothing, so "alice" and
 * "al\u200bice" would look like one user in the audit log. U+200D also joins emoji (a logged
 * "👩\u200d💻" shows as two emoji and the escape between them): logs are for operators, who
 * need the name as it is rather than as it renders. U+200B-U+200F and U+2028-U+202E are runs.
 */
const LINE_BIDI_AND_INVISIBLE = "\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2066-\\u2069\\ufeff";
const NOT_PRINTABLE = new RegExp(`[${C0}${DEL_AND_C1}${LINE_BIDI_AND_INVISIBLE}]`, "g");
/** JSON.stringify escapes C0 in strings itself (and its layout's newlines must stay). */
const LEFT_RAW_BY_JSON = new RegExp(`[${DEL_AND_C1}${LINE_BIDI_AND_INVISIBLE}]`, "g");

/**
 * `text` with every terminal control as `\xNN`, every line separator, bidi control and
 * zero-width character as `\uXXXX`: one line, readable, inert, in the order it was written.
 */
export function printable(text: string): string {
  return text.replace(NOT_PRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : unicodeEscape(c);
  });
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
 * the line separators, the bidi controls and the zero-width characters as `\uXXXX`. In JSON
 * they can stand only inside strings, where the escape parses back to the same character:
 * still valid JSON of the same value.
 */
export function escapeLeftRawByJson(text: string): string {
  return text.replace(LEFT_RAW_BY_JSON, unicodeEscape);
}

/** `\uXXXX`, as JavaScript and JSON write a character of the Basic Multilingual Plane. */
function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
