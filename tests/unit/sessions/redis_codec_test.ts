/**
 * Decoding a Redis listing: every entry, in order, and a turn of the event loop of its own every
 * LIST_CHUNK entries, so a listing of a large store does not hold up the REAUTHs meanwhile.
 */
import { Buffer } from "node:buffer";
import { assert, assertEquals } from "../../support/assert.ts";
import { decodeAll, decodeSession, encodeSession } from "../../../src/sessions/redis_codec.ts";
import { LIST_CHUNK } from "../../../src/sessions/list_chunk.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { turnsDuring } from "../../support/turns.ts";
import { session } from "./fixtures.ts";

Deno.test("decodeAll() decodes every entry in order, a turn of its own every LIST_CHUNK entries", async () => {
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const count = 4 * LIST_CHUNK + 10;
  const flat: Array<Buffer | null> = [];
  for (let i = 0; i < count; i++) {
    const { data, secret } = await encodeSession(session({ sessionId: `s-${i}` }), cipher);
    flat.push(Buffer.from(data), secret === "" ? null : secret);
  }
  const { result, turns } = await turnsDuring(() => decodeAll(flat, decodeSession, cipher));
  assertEquals(result.map((s) => s.sessionId), Array.from({ length: count }, (_, i) => `s-${i}`));
  assertEquals(result[count - 1]?.refreshToken, session().refreshToken);
  assert(turns >= 4, `${turns} turns passed during the decoding`);
});
