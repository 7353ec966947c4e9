import { assertEquals } from "../support/assert.ts";
import { printable, printableJson } from "../../src/printable_text.ts";
import { LINE_AND_BIDI_CODES } from "../support/line_and_bidi.ts";

Deno.test("printable() shows terminal controls as \\xNN and leaves other text as it is", () => {
  assertEquals(printable("eve\u001b[2J\nroot\u007f\u009b"), "eve\\x1b[2J\\x0aroot\\x7f\\x9b");
  assertEquals(printable("Jürgen 🙂 Ω \u00a0\u00ff"), "Jürgen 🙂 Ω \u00a0\u00ff");
});

Deno.test("printable() shows each line separator and bidi control as \\uXXXX", () => {
  for (const code of LINE_AND_BIDI_CODES) {
    const hex = code.toString(16);
    assertEquals(printable(`alice${String.fromCharCode(code)}x`), `alice\\u${hex}x`, hex);
  }
  // Next to them, not in the set: U+2027, U+202F, U+2065, U+206A.
  assertEquals(printable("\u2027\u202f\u2065\u206a"), "\u2027\u202f\u2065\u206a");
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
