import { assertEquals, assertStrictEquals } from "../../support/assert.ts";
import { DecodedSessions } from "../../../src/sessions/redis_decoded.ts";
import { CACHE_LIMIT, evictionBatch } from "../../../src/sessions/session_cache.ts";
import { session } from "./fixtures.ts";

Deno.test("DecodedSessions hands out a snapshot only for the very version it was decoded at", () => {
  const decoded = new DecodedSessions();
  assertEquals(decoded.versionOf("s-1"), "");
  const s = session({ sessionId: "s-1", cid: 3 });
  decoded.remember("s-1", "v-1", s);
  assertEquals(decoded.versionOf("s-1"), "v-1");
  assertStrictEquals(decoded.get("s-1", "v-1"), s);
  assertEquals(decoded.get("s-1", "v-2"), undefined);
  assertEquals(decoded.get("s-1", ""), undefined);
  assertEquals(decoded.get("s-2", "v-1"), undefined);
  assertEquals(decoded.versionOf("s-2"), "");

  // Decoded again at another version: only that one is handed out.
  const newer = session({ sessionId: "s-1", cid: 4 });
  decoded.remember("s-1", "v-2", newer);
  assertEquals(decoded.get("s-1", "v-1"), undefined);
  assertStrictEquals(decoded.get("s-1", "v-2"), newer);

  // Not bound to a client: forgotten, not kept.
  decoded.remember("s-1", "v-3", session({ sessionId: "s-1", cid: undefined }));
  assertEquals(decoded.get("s-1", "v-3"), undefined);
  assertEquals(decoded.get("s-1", "v-2"), undefined);
  assertEquals(decoded.versionOf("s-1"), "");

  decoded.remember("s-1", "v-4", s);
  decoded.delete("s-1");
  assertEquals(decoded.versionOf("s-1"), "");
});

Deno.test("DecodedSessions keeps at most CACHE_LIMIT snapshots, dropping the least recently stored first", () => {
  const decoded = new DecodedSessions();
  const s = session({ cid: 1 });
  for (let i = 0; i < CACHE_LIMIT; i++) decoded.remember(`s-${i}`, `v-${i}`, s);
  // Stored again: now the newest, so s-1 is the first of the batch dropped next.
  decoded.remember("s-0", "v-0", s);
  decoded.remember("s-new", "v-new", s);
  const batch = evictionBatch(CACHE_LIMIT);
  assertStrictEquals(decoded.get("s-0", "v-0"), s);
  assertEquals(decoded.get("s-1", "v-1"), undefined);
  assertEquals(decoded.get(`s-${batch}`, `v-${batch}`), undefined);
  assertStrictEquals(decoded.get(`s-${batch + 1}`, `v-${batch + 1}`), s);
  assertStrictEquals(decoded.get("s-new", "v-new"), s);
});
