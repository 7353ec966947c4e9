import { assertEquals, assertRejects, assertThrows } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { KnownSessions } from "../../../src/sessions/known_sessions.ts";
import type { SessionStore } from "../../../src/sessions/types.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import { registerStoreContract } from "./contract.ts";
import { collectPages, LIST_CHUNK } from "../../../src/sessions/list_chunk.ts";
import { pendingLogin, session, T0 } from "./fixtures.ts";

registerStoreContract("MemoryStore", (options) => {
  const store = new MemoryStore(options);
  return Promise.resolve({ store, cleanup: () => store.close() });
});

Deno.test("MemoryStore refuses a size bound that is not a positive integer", () => {
  for (const maxEntries of [0, -1, 1.5, NaN]) {
    assertThrows(() => new MemoryStore({ maxEntries }), Error, /Invalid session store size bound/);
  }
});

Deno.test("MemoryStore: a cid two sessions are bound to (OpenVPN restarted) finds the other once one goes", async () => {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  await store.putSession(session({ sessionId: "old", cid: 3 }));
  await store.putSession(session({ sessionId: "new", cid: 3 }));
  await store.putSession(session({ sessionId: "third", cid: 3 }));
  assertEquals(await store.findSessionIdByCid("vpn1", 3), "old");
  await store.deleteSession("old");
  assertEquals(await store.findSessionIdByCid("vpn1", 3), "new");
  await store.putSession(session({ sessionId: "new", cid: 5 }));
  assertEquals(await store.findSessionIdByCid("vpn1", 3), "third");
  assertEquals(await store.findSessionIdByCid("vpn1", 5), "new");
  await store.deleteSession("third");
  assertEquals(await store.findSessionIdByCid("vpn1", 3), undefined);
  await store.putPending(pendingLogin({ id: "p1", cid: 3 }));
  await store.putPending(pendingLogin({ id: "p2", cid: 3 }));
  assertEquals(await store.deletePendingByCid("vpn1", 3), 2);
  assertEquals(await store.deletePendingByCid("vpn1", 3), 0);
});

Deno.test("MemoryStore: a listing goes on past logins added, deleted and put again meanwhile, each listed once", async () => {
  const store = new MemoryStore({ maxEntries: 10_000, now: () => T0 });
  const count = LIST_CHUNK + 10;
  for (let i = 0; i < count; i++) await store.putPending(pendingLogin({ id: `p-${i}`, cid: i }));
  const pages = store.pendingPages();
  const first = await pages.next();
  assertEquals(first.value?.length, LIST_CHUNK);
  // Listed already, deleted and put again: it moves to the end of the Map's order.
  await store.deletePending("p-0");
  await store.putPending(pendingLogin({ id: "p-0", cid: 0 }));
  // Not reached yet: gone before its page.
  await store.deletePending(`p-${count - 1}`);
  await store.putPending(pendingLogin({ id: "new", cid: count }));
  const ids = [...(first.value ?? []), ...await collectPages(pages)].map((login) => login.id);
  assertEquals(ids.length, new Set(ids).size, "each once");
  assertEquals(ids.includes("new"), true);
  assertEquals(ids.includes(`p-${count - 1}`), false);
  assertEquals(ids.length, count);
});

Deno.test("MemoryStore: a full store sweeps for a new entry once something in it can have expired, also after an update moved an expiry earlier", async () => {
  let now = T0;
  const store = new MemoryStore({ maxEntries: 2, now: () => now });
  await store.putSession(session({ sessionId: "a", expiresAt: T0 + 10_000 }));
  await store.putSession(session({ sessionId: "b", expiresAt: T0 + 20_000 }));
  await assertRejects(() => store.putSession(session({ sessionId: "c" })), StoreFullError);
  // Refused puts do not sweep the table each time; once "a" expired, the next put finds room.
  now = T0 + 10_001;
  await store.putSession(session({ sessionId: "c", expiresAt: T0 + 30_000 }));
  // The bound kept since that sweep (b: 20 s) is lowered by an update to 15 s.
  await store.updateSession(session({ sessionId: "c", expiresAt: T0 + 15_000 }));
  await assertRejects(() => store.putSession(session({ sessionId: "d" })), StoreFullError);
  now = T0 + 15_001;
  await store.putSession(session({ sessionId: "d", expiresAt: T0 + 60_000 }));
  assertEquals(await store.getSession("c"), undefined);
  assertEquals((await store.getSession("b"))?.sessionId, "b");
  await store.close();
});

Deno.test("MemoryStore: a session written while a sweep hands on its expired ones keeps the full store's bound", async () => {
  let now = T0;
  const store = new MemoryStore({ maxEntries: 3, now: () => now });
  await store.putSession(session({ sessionId: "old", expiresAt: T0 + 60_000 }));
  await store.putSession(session({ sessionId: "b", expiresAt: T0 + 3_600_000 }));
  await store.putSession(session({ sessionId: "c", expiresAt: T0 + 3_600_000 }));
  now = T0 + 120_000;
  // Written after the sweep went past every entry, expiring before all it kept.
  const early = session({ sessionId: "early", expiresAt: T0 + 180_000 });
  assertEquals(await store.sweep(now, () => store.putSession(early)), { pending: 0, sessions: 1 });
  now = T0 + 240_000;
  // "early" has expired: the full store finds room by it, not refusing as if none could have.
  await store.putSession(session({ sessionId: "d", expiresAt: T0 + 3_600_000 }));
  assertEquals(await store.getSession("early"), undefined);
  await store.close();
});

Deno.test("MemoryStore.liveSids() names the asked sids a live session has, in one scan; a KnownSessions watch passes it on", async () => {
  let now = T0;
  const store = new MemoryStore({ maxEntries: 10, now: () => now });
  await store.putSession(session({ sessionId: "a", sid: "sso-1" }));
  await store.putSession(session({ sessionId: "b", sid: "sso-2", expiresAt: T0 + 1 }));
  await store.putSession(session({ sessionId: "c", sid: undefined }));
  await store.putSession(session({ sessionId: "d", sid: "sso-4" }));
  now = T0 + 2;
  const asked = new Set(["sso-1", "sso-2", "sso-3"]);
  assertEquals([...await store.liveSids(asked)], ["sso-1"]);
  const watched = new KnownSessions(10).watch(store);
  assertEquals([...await watched.liveSids!(asked)], ["sso-1"]);
  const withoutIt = { ...store, liveSids: undefined } as unknown as SessionStore;
  assertEquals(new KnownSessions(10).watch(withoutIt).liveSids, undefined);
});
