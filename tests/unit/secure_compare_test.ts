import { assertEquals } from "../support/assert.ts";
import { secureEqual } from "../../src/secure_compare.ts";

Deno.test("secureEqual() is true only for the very same secret: a prefix, even an empty one, is not it", () => {
  // [submitted, expected, equal]: the sign-in form's CSRF check passes the submitted value
  // first, so a prefix accepted here would let an empty or cut-short token through.
  const cases: Array<[string, string, boolean]> = [
    ["abc", "abc", true],
    ["", "", true],
    ["ключ", "ключ", true],
    ["", "abc", false],
    ["ab", "abc", false],
    ["abc", "ab", false],
    ["abc", "abd", false],
    ["xbc", "abc", false],
    ["abc", "ABC", false],
  ];
  for (const [submitted, expected, equal] of cases) {
    assertEquals(secureEqual(submitted, expected), equal, `"${submitted}" vs "${expected}"`);
  }
});
