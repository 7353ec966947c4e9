import { assertEquals } from "../support/assert.ts";
import { printable, printableJson } from "../../src/printable_text.ts";
import { JOINED_NAMES, SPOOFED_NAMES } from "../support/joined_names.ts";

Deno.test("printable() keeps a ZWNJ, ZWJ or emoji selector where it shapes the name: Persian, Indic, emoji", () => {
  for (const { what, name } of JOINED_NAMES) {
    assertEquals(printable(name), name, what);
    assertEquals(printable(`user ${name} signed in`), `user ${name} signed in`, what);
  }
});

Deno.test("printable() escapes a ZWNJ, ZWJ or emoji selector that draws nothing, so no name passes for another", () => {
  for (const { what, name, shown } of SPOOFED_NAMES) {
    assertEquals(printable(name), shown, what);
  }
});

Deno.test("printableJson() keeps them and escapes them by the same rule, and stays the same JSON", () => {
  for (const { what, name } of JOINED_NAMES) {
    assertEquals(printableJson({ name }), `{\n  "name": "${name}"\n}`, what);
  }
  for (const { what, name, shown } of SPOOFED_NAMES) {
    const text = printableJson({ name });
    assertEquals(text, `{\n  "name": "${shown}"\n}`, what);
    assertEquals(JSON.parse(text), { name }, what);
  }
});

/** Marks the runtime gives Canonical_Combining_Class 10 and 8 (Hebrew sheva, kana voicing). */
const CCC_10 = "\u05b0";
const CCC_8 = "\u3099";

/**
 * Whether `mark` has Canonical_Combining_Class 9 (Virama) in the runtime's Unicode data, which
 * JavaScript shows only through normalization: canonical reordering puts a mark of a lower class
 * before one of a higher class, so a virama goes before a class-10 mark and after a class-8 one.
 */
function isVirama(mark: string): boolean {
  if (mark === CCC_10 || mark === CCC_8 || mark.normalize("NFD") !== mark) return false;
  return (`a${CCC_10}${mark}`.normalize("NFD") === `a${mark}${CCC_10}`) &&
    (`a${mark}${CCC_8}`.normalize("NFD") === `a${CCC_8}${mark}`);
}

Deno.test("printable() keeps a ZWJ and a ZWNJ after every virama of the runtime's Unicode, after no other mark", () => {
  const hex = (marks: string[]) => marks.map((m) => m.codePointAt(0)!.toString(16)).join(" ");
  const viramas: string[] = [];
  const kept: string[] = [];
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code === 0xd800) code = 0xe000;
    const mark = String.fromCodePoint(code);
    if (!/\p{M}/u.test(mark)) continue;
    if (isVirama(mark)) viramas.push(mark);
    const keptZwj = printable(`${mark}\u200d`).endsWith("\u200d");
    assertEquals(printable(`${mark}\u200c`).endsWith("\u200c"), keptZwj, hex([mark]));
    if (keptZwj) kept.push(mark);
  }
  // The probe finds the viramas it must (Devanagari, Khmer's coeng, Gurung Khema's, Unicode 16).
  for (const virama of ["\u094d", "\u17d2", "\u{1612f}"]) {
    assertEquals(viramas.includes(virama), true, hex([virama]));
  }
  // A new Unicode version's virama missing from src/joiners_in_context.ts shows here: add it.
  assertEquals(hex(kept), hex(viramas));
});
