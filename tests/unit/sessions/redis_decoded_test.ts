import { Buffer } from "node:buffer";
import { assertEquals, assertStrictEquals } from "../../support/assert.ts";
import { DecodedSessions } from "../../../src/sessions/redis_decoded.ts";
import { CACHE_LIMIT, evictionBatch } from "../../../src/sessions/session_cache.ts";
import { session } from "./fixtures.ts";

const bytes = (text: string) => Buffer.from(text);

Deno.test("DecodedSessions hands out a snapshot only for the very bytes it was decoded from", () => {
  const decoded = new DecodedSessions();
  const s = session({ sessionId: "s-1", cid: 3 });
  decoded.remember("s-1", [bytes("data-1"), bytes("secret-1")], s);
  assertStrictEquals(decoded.get("s-1", [bytes("data-1"), bytes("secret-1")]), s);
  assertEquals(decoded.get("s-1", [bytes("data-2"), bytes("secret-1")]), undefined);
  assertEquals(decoded.get("s-1", [bytes("data-1"), null]), undefined);
  assertEquals(decoded.get("s-2", [bytes("data-1"), bytes("secret-1")]), undefined);

  // Not bound to a client: forgotten, not kept.
  decoded.remember(
    "s-1",
    [bytes("data-1"), bytes("secret-1")],
    session({ sessionId: "s-1", cid: undefined }),
  );
  assertEquals(decoded.get("s-1", [bytes("data-1"), bytes("secret-1")]), undefined);
});

Deno.test("DecodedSessions keeps at most CACHE_LIMIT snapshots, dropping the least recently stored first", () => {
  const decoded = new DecodedSessions();
  const s = session({ cid: 1 });
  const fields = (i: number) => [bytes(`data-${i}`), null] as const;
  for (let i = 0; i < CACHE_LIMIT; i++) decoded.remember(`s-${i}`, [...fields(i)], s);
  // Stored again: now the newest, so s-1 is the first of the batch dropped next.
  decoded.remember("s-0", [...fields(0)], s);
  decoded.remember("s-new", [bytes("data-new"), null], s);
  const batch = evictionBatch(CACHE_LIMIT);
  assertStrictEquals(decoded.get("s-0", [...fields(0)]), s);
  assertEquals(decoded.get("s-1", [...fields(1)]), undefined);
  assertEquals(decoded.get(`s-${batch}`, [...fields(batch)]), undefined);
  assertStrictEquals(decoded.get(`s-${batch + 1}`, [...fields(batch + 1)]), s);
  assertStrictEquals(decoded.get("s-new", [bytes("data-new"), null]), s);
});
