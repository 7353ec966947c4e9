import { assertEquals } from "../support/assert.ts";
import { printable, printableJson } from "../../src/printable_text.ts";
import { LINE_AND_BIDI_CODES } from "../support/line_and_bidi.ts";
import { INVISIBLE_MARK_CODES } from "../support/invisible_marks.ts";

Deno.test("printable() shows terminal controls as \\xNN and leaves other text as it is", () => {
  assertEquals(printable("eve\u001b[2J\nroot\u007f\u009b"), "eve\\x1b[2J\\x0aroot\\x7f\\x9b");
  assertEquals(printable("Jürgen 🙂 Ω \u00a0\u00ff"), "Jürgen 🙂 Ω \u00a0\u00ff");
});

Deno.test("printable() shows each line separator and bidi control as \\uXXXX", () => {
  for (const code of LINE_AND_BIDI_CODES) {
    const hex = code.toString(16);
    assertEquals(printable(`alice${String.fromCharCode(code)}x`), `alice\\u${hex}x`, hex);
  }
  // Next to them, not in the set: U+2027 (a dot that shows), U+202F (a narrow space). U+2065 and
  // U+206A are: invisible, as Default_Ignorable_Code_Point (below).
  assertEquals(printable("\u2027\u202f"), "\u2027\u202f");
});

Deno.test("printableJson() escapes line separators and bidi controls and stays the same JSON", () => {
  for (const code of LINE_AND_BIDI_CODES) {
    const hex = code.toString(16);
    const value = { user: `alice${String.fromCharCode(code)}x`, c1: "\u0085" };
    const text = printableJson(value);
    assertEquals(text.includes(String.fromCharCode(code)), false, hex);
    assertEquals(text.includes(`"alice\\u${hex}x"`), true, hex);
    assertEquals(text.includes('"\\u0085"'), true, hex);
    assertEquals(JSON.parse(text), value, hex);
  }
});

Deno.test("printable() shows each bidi mark and zero-width character as \\uXXXX", () => {
  for (const code of INVISIBLE_MARK_CODES) {
    const hex = code.toString(16).padStart(4, "0");
    assertEquals(printable(`al${String.fromCharCode(code)}ice`), `al\\u${hex}ice`, hex);
  }
  // Between Latin letters ZWNJ, ZWJ and U+FE0F shape nothing; where they do, they stay
  // (joiners_in_context_test.ts).
  // Next to them, not in the set: U+061B, U+061D, U+200A (hair space), U+2010, U+FEFE, U+FF01.
  assertEquals(
    printable("\u061b\u061d\u200a\u2010\ufefe\uff01"),
    "\u061b\u061d\u200a\u2010\ufefe\uff01",
  );
});

Deno.test("printableJson() escapes bidi marks and zero-width characters and stays the same JSON", () => {
  for (const code of INVISIBLE_MARK_CODES) {
    const hex = code.toString(16).padStart(4, "0");
    const value = { user: `al${String.fromCharCode(code)}ice` };
    const text = printableJson(value);
    assertEquals(text.includes(String.fromCharCode(code)), false, hex);
    assertEquals(text.includes(`"al\\u${hex}ice"`), true, hex);
    assertEquals(JSON.parse(text), value, hex);
  }
});

Deno.test("printable() escapes both ends of each terminal control range and nothing next to them", () => {
  // NUL shows as nothing ("alice\0" looks like "alice"); U+001F and U+009F are controls too.
  assertEquals(printable("a\u0000\u001f\u007f\u0080\u009fb"), "a\\x00\\x1f\\x7f\\x80\\x9fb");
  assertEquals(printable("\u0020\u007e\u00a0"), "\u0020\u007e\u00a0");
});

/** Drawn as nothing too, outside INVISIBLE_MARK_CODES' form (\\uXXXX of one UTF-16 unit). */
const MORE_INVISIBLE: Array<[string, string]> = [
  ["\u00ad", "\\xad"], // soft hyphen (in Latin-1: \xNN, as the controls)
  ["\u{e0041}", "\\udb40\\udc41"], // tag latin capital letter A, as its two surrogates
];

Deno.test("printable() shows every other character drawn as nothing as \\uXXXX, so no name passes for another", () => {
  for (const [invisible, escaped] of MORE_INVISIBLE) {
    assertEquals(printable(`al${invisible}ice`), `al${escaped}ice`, escaped);
  }
  // Letters and marks that show keep their form (Hangul syllables, a combining accent).
  assertEquals(printable("한국 e\u0301 李雷"), "한국 e\u0301 李雷");
});

Deno.test("printableJson() escapes them too and stays the same JSON, a tag character included", () => {
  for (const [invisible, escaped] of MORE_INVISIBLE) {
    const value = { username: `al${invisible}ice` };
    const text = printableJson(value);
    assertEquals(text.includes(invisible), false, escaped);
    assertEquals(JSON.parse(text), value, escaped);
  }
});
