/**
 * Text for the admin's terminal that came from outside (VPN clients, the IdP, the network).
 * A terminal acts on C0 controls (newline, ESC), DEL and C1 (U+009B alone is a CSI), so one such
 * character could move the cursor, retitle the window or fake another line of output: the
 * admin commands and check-config show them escaped, by the one rule below.
 */

const C0 = "\\u0000-\\u001f";
const DEL_AND_C1 = "\\u007f-\\u009f";
const TERMINAL_CONTROLS = new RegExp(`[${C0}${DEL_AND_C1}]`, "g");
/** JSON.stringify escapes C0 in strings itself (and its layout's newlines must stay). */
const LEFT_RAW_BY_JSON = new RegExp(`[${DEL_AND_C1}]`, "g");

/** `text` with every terminal control as `\xNN`: one line, readable, inert. */
export function printable(text: string): string {
  return text.replace(
    TERMINAL_CONTROLS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * `JSON.stringify(value, null, 2)` with no terminal control left raw. DEL and C1 can stand only
 * inside strings there, where their `\u00XX` escape parses back to the same character, so the
 * output stays valid JSON of the same value.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    LEFT_RAW_BY_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
