import { assertStrictEquals } from "../../support/assert.ts";
import { ownString } from "../../../src/sessions/entry_check.ts";

Deno.test("ownString() keeps any text exactly: a leading BOM, lone surrogates, NUL, emoji", () => {
  const texts = [
    "\uFEFFbom",
    "lone \uD800 surrogate",
    "\uDC00",
    "pair 🔐👩‍💻",
    "nul \u0000 inside",
    "",
    "Grüße 日本語 עברית",
    "bs".padEnd(4000, "x"),
  ];
  for (const text of texts) assertStrictEquals(ownString(text), text);
});
