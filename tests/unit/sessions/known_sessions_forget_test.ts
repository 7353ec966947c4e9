/**
 * KnownSessions forgets a session as soon as the store shows it ended or unbound by someone
 * else: what it still knows is admitted on a REAUTH while the store is down
 * (`sessions.store_unreachable = "allow"`), so a session it failed to forget would be let in
 * after its end.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { KnownSessions } from "../../../src/sessions/known_sessions.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { session, T0 } from "./fixtures.ts";

function watched() {
  const inner = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const known = new KnownSessions(100);
  return { inner, known, store: known.watch(inner) };
}

Deno.test("KnownSessions forgets a session an update finds gone (ended through another bridge)", async () => {
  const { inner, known, store } = watched();
  await store.putSession(session({ sessionId: "s1", cid: 7 }));
  assertEquals(known.get("s1")?.cid, 7);
  // Ended elsewhere (a revoke, an admin command): this bridge's reconnect then updates nothing.
  await inner.deleteSession("s1");
  assertEquals(await store.updateSession(session({ sessionId: "s1", cid: 8 })), false);
  assertEquals(known.get("s1"), undefined, "an ended session is still known");
  assertEquals(known.size, 0);
});

Deno.test("KnownSessions forgets a session a read finds unbound (disconnected through another bridge)", async () => {
  const { inner, known, store } = watched();
  await store.putSession(session({ sessionId: "s1", cid: 7 }));
  assert(known.get("s1"));
  await inner.putSession(session({ sessionId: "s1", cid: undefined }));
  assertEquals((await store.getSession("s1"))?.cid, undefined);
  assertEquals(known.get("s1"), undefined, "an unbound session is still known by its old cid");
  assertEquals(known.size, 0);
});
