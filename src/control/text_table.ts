/**
 * The admin commands' aligned tables. Cells come from VPN clients and the IdP: each is shown
 * inert and unambiguous (tableCell), and columns are padded by the width a terminal gives the
 * text, so that a name in CJK characters does not shift the columns after it.
 */
import { printable } from "../printable_text.ts";

/**
 * East Asian Wide and Fullwidth characters, which a terminal shows two columns wide: Hangul
 * Jamo, the CJK blocks from radicals to Yi (but U+303F, a half-width space), Hangul syllables,
 * compatibility ideographs, vertical and compatibility forms, fullwidth forms, the emoji of
 * U+1F300-U+1F64F and U+1F900-U+1F9FF, and the supplementary ideographic planes.
 */
const WIDE = new RegExp(
  "[\\u1100-\\u115f\\u2329\\u232a\\u2e80-\\u303e\\u3040-\\ua4cf\\uac00-\\ud7a3" +
    "\\uf900-\\ufaff\\ufe10-\\ufe19\\ufe30-\\ufe6f\\uff00-\\uff60\\uffe0-\\uffe6" +
    "\\u{1f300}-\\u{1f64f}\\u{1f900}-\\u{1f9ff}\\u{20000}-\\u{2fffd}\\u{30000}-\\u{3fffd}]",
  "u",
);
/**
 * Combining marks take no column of their own: they sit on the character before them. Nor do
 * the ZWNJ and ZWJ a cell keeps where they shape a name (printable()): they only join or part
 * the characters around them.
 */
const COMBINING = /[\p{Mn}\p{Me}\u200c\u200d]/u;

/** The columns a terminal gives `text` (one line, no controls: a tableCell). */
function displayWidth(text: string): number {
  let width = 0;
  for (const character of text) {
    width += COMBINING.test(character) ? 0 : WIDE.test(character) ? 2 : 1;
  }
  return width;
}

/**
 * `text` as a table shows it: printable()'s escapes, and `\` itself as `\\`, so that a name
 * holding the six characters `\u202e` does not read like one holding U+202E (--json needs
 * nothing more: JSON escapes `\` itself).
 */
function tableCell(text: string): string {
  return printable(text.replaceAll("\\", "\\\\"));
}

/** Aligned columns under `header`, two spaces apart. */
export function table(header: readonly string[], rows: readonly string[][]): string {
  const cells = rows.map((row) => row.map(tableCell));
  // A loop, not Math.max(...column): spreading 200,000 rows into one call overflowed the stack.
  const widths = header.map(displayWidth);
  for (const row of cells) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, displayWidth(cell))));
  }
  const line = (row: readonly string[]) =>
    row.map((cell, i) => cell + " ".repeat(widths[i]! - displayWidth(cell))).join("  ")
      .trimEnd() + "\n";
  return line(header) + cells.map(line).join("");
}
