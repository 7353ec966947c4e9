/**
 * Edges of OpenVPN's config lexer that splitOptionWords must reproduce, so a line that passes
 * config load is split by OpenVPN the same way at every connect.
 */
import { assertEquals } from "../../support/assert.ts";
import { splitOptionWords } from "../../../src/policy/_option_words.ts";
import { validateClientConfigLine } from "../../../src/policy/client_config.ts";

Deno.test("splitOptionWords() refuses a backslash that ends the line, which escapes nothing", () => {
  assertEquals("error" in splitOptionWords("inactive 600\\"), true);
  assertEquals("error" in splitOptionWords('push "route 10.0.0.0 255.0.0.0\\'), true);
  assertEquals(validateClientConfigLine("inactive 600\\") !== undefined, true);
});

Deno.test("splitOptionWords() keeps a comma inside a word: only white space separates", () => {
  assertEquals(splitOptionWords("ifconfig-push 10.8.0.5,x 255.255.255.0"), {
    words: ["ifconfig-push", "10.8.0.5,x", "255.255.255.0"],
  });
  assertEquals("error" in splitOptionWords("push route\\,x"), true);
});
