import { assert, assertEquals } from "../support/assert.ts";
import { randomToken } from "../../src/random_token.ts";

Deno.test("randomToken() gives base64url without padding, 128 bits in 22 characters, never twice", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const token = randomToken(16);
    assert(/^[A-Za-z0-9_-]{22}$/.test(token), token);
    seen.add(token);
  }
  assertEquals(seen.size, 1000);
  assertEquals(randomToken(32).length, 43);
  assertEquals(randomToken(3).length, 4);
});
