import { assertEquals } from "../support/assert.ts";
import { printable, printableJson } from "../../src/printable_text.ts";

/** Line separators (U+2028, U+2029) and bidi controls (U+202A-U+202E, U+2066-U+2069). */
const LINE_AND_BIDI = [
  0x2028,
  0x2029,
  0x202a,
  0x202b,
  0x202c,
  0x202d,
  0x202e,
  0x2066,
  0x2067,
  0x2068,
  0x2069,
];

Deno.test("printable() shows terminal controls as \\xNN and leaves other text as it is", () => {
  assertEquals(printable("eve\u001b[2J\nroot\u007f\u009b"), "eve\\x1b[2J\\x0aroot\\x7f\\x9b");
  assertEquals(printable("Jürgen 🙂 Ω \u00a0\u00ff"), "Jürgen 🙂 Ω \u00a0\u00ff");
});

Deno.test("printable() shows each line separator and bidi control as \\uXXXX", () => {
  for (const code of LINE_AND_BIDI) {
    const hex = code.toString(16);
    assertEquals(printable(`alice${String.fromCharCode(code)}x`), `alice\\u${hex}x`, hex);
  }
  // Next to them, not in the set: U+2027, U+202F, U+2065, U+206A.
  assertEquals(printable("\u2027\u202f\u2065\u206a"), "\u2027\u202f\u2065\u206a");
});

Deno.test("printableJson() escapes line separators and bidi controls and stays the same JSON", () => {
  for (const code of LINE_AND_BIDI) {
    const hex = code.toString(16);
    const value = { user: `alice${String.fromCharCode(code)}x`, c1: "\u0085" };
    const text = printableJson(value);
    assertEquals(text.includes(String.fromCharCode(code)), false, hex);
    assertEquals(text.includes(`"alice\\u${hex}x"`), true, hex);
    assertEquals(text.includes('"\\u0085"'), true, hex);
    assertEquals(JSON.parse(text), value, hex);
  }
});
