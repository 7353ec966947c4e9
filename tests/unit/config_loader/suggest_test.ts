/**
 * suggest(): the "did you mean" of an unknown key (README: errors suggest the closest key for
 * typos). Within the bound a typo gets its key; past it, no guess that would mislead.
 */
import { assertEquals } from "../../support/assert.ts";
import { suggest } from "../../../src/config_loader/suggest.ts";

Deno.test("suggest() names a key up to 2 edits from a short name, and none at 3", () => {
  assertEquals(suggest("lstn", ["listen"]), "listen");
  assertEquals(suggest("lst", ["listen"]), undefined);
  // A changed letter is one edit, as a missing one: two of them still get their key.
  assertEquals(suggest("lxxten", ["listen"]), "listen");
});

Deno.test("suggest() allows a third of a long name's length in edits, and no more", () => {
  // 10 characters: 3 edits (client_secret less "i", "e", "e").
  assertEquals(suggest("clnt_scret", ["client_secret"]), "client_secret");
  // 9 characters: still 3 allowed, and this one is 4 away.
  assertEquals(suggest("clnt_scrt", ["client_secret"]), undefined);
});

Deno.test("suggest() compares in lower case and keeps the closest of several keys", () => {
  assertEquals(suggest("Client_ID", ["client_secret", "client_id"]), "client_id");
  assertEquals(suggest("lisen", ["lisen_address", "listen", "lifetime"]), "listen");
});
