/**
 * Client events while the session store cannot be reached: new sign-ins and reconnects fail
 * closed with a reason that says so; a REAUTH is denied (store_unreachable = "deny") or judged
 * on what this bridge knows of the session ("allow").
 */
import { assertEquals } from "../../support/assert.ts";
import { KnownSessions } from "../../../src/sessions/known_sessions.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { STORE_UNAVAILABLE } from "../../../src/bridge/denial.ts";
import {
  EVENTS_T0 as T0,
  settle,
  switchableStore,
  testClientEvents,
  testSession as session,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const HOUR = 3_600_000;

function setup(storeUnreachable: "deny" | "allow", reauthCheck: "none" | "refresh" = "none") {
  const clock = new FakeClock(T0);
  const memory = new MemoryStore({ maxEntries: 100, now: clock.now });
  const { store: flaky, state } = switchableStore(memory);
  const known = new KnownSessions(100);
  const store = known.watch(flaky);
  const { events, commander, revoked } = testClientEvents({
    store,
    clock,
    storeUnreachable,
    reauthCheck,
    knownSessions: known,
    refresh: () => Promise.reject(new Error("no refresh while the store is down")),
  });
  const env = (values: Record<string, string> = {}) =>
    new Map(Object.entries({
      common_name: "alice",
      session_id: "s-1",
      session_state: "Initial",
      IV_SSO: "webauth",
      ...values,
    }));
  return { clock, memory, store, state, known, events, commander, env, revoked };
}

const DENIED_UNREACHABLE = (cid: number, kid: number) => ({
  kind: "deny",
  cid,
  kid,
  reason: STORE_UNAVAILABLE.logReason,
  clientReason: STORE_UNAVAILABLE.reason,
});

Deno.test("a CONNECT while the store is unreachable is denied saying so, in both modes", async () => {
  for (const mode of ["deny", "allow"] as const) {
    const t = setup(mode);
    await t.store.putSession(session());
    t.state.down = true;
    await t.events.onConnect(9, 1, t.env({ session_id: "s-new" }));
    await t.events.onConnect(10, 1, t.env({ session_state: "Authenticated" }));
    assertEquals(t.commander.commands, [DENIED_UNREACHABLE(9, 1), DENIED_UNREACHABLE(10, 1)]);
    t.events.close();
  }
});

Deno.test("store_unreachable = deny: a REAUTH of a known client is denied saying so", async () => {
  const t = setup("deny");
  await t.store.putSession(session());
  t.state.down = true;
  await t.events.onReauth(4, 2, t.env());
  assertEquals(t.commander.commands, [DENIED_UNREACHABLE(4, 2)]);
  t.events.close();
});

Deno.test("store_unreachable = allow: a REAUTH of a session this bridge bound is accepted without a write", async () => {
  const t = setup("allow", "refresh");
  await t.store.putSession(session({ resumable: true }));
  t.state.down = true;
  await t.events.onReauth(4, 2, t.env({ session_state: "Authenticated" }));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 2 }]);
  t.state.down = false;
  assertEquals((await t.memory.getSession("s-1"))?.lastAuthAt, T0, "nothing written back");
  t.events.close();
});

Deno.test("store_unreachable = allow: the decision table still applies to what is known", async () => {
  const t = setup("allow");
  await t.store.putSession(session());
  await t.store.putSession(session({ sessionId: "s-2", cid: 5, commonName: "bob" }));
  t.state.down = true;
  await t.events.onReauth(6, 1, t.env()); // s-1 is bound to cid 4, not 6
  await t.events.onReauth(5, 1, t.env({ session_id: "s-2", common_name: "mallory" }));
  await t.events.onReauth(4, 1, t.env({ session_state: "Expired" }));
  await t.events.onReauth(7, 1, t.env({ session_id: "s-unknown" }));
  t.clock.advance(HOUR + 1);
  await t.events.onReauth(4, 2, t.env());
  assertEquals(t.commander.commands.map((c) => c.kind === "deny" ? c.reason : c.kind), [
    "no session for this client",
    "no session for this client",
    "session token expired or invalid",
    STORE_UNAVAILABLE.logReason,
    "session lifetime reached",
  ]);
  t.events.close();
});

Deno.test("store_unreachable = allow: a client that disconnected while the store was down is forgotten", async () => {
  const t = setup("allow");
  await t.store.putSession(session());
  t.state.down = true;
  await t.events.onDisconnect(4).catch(() => {});
  assertEquals(t.known.get("s-1"), undefined);
  await t.events.onReauth(4, 2, t.env());
  assertEquals(t.commander.commands, [DENIED_UNREACHABLE(4, 2)]);
  t.events.close();
});

Deno.test("a DISCONNECT while the store is down ends its session once the store is back: not left bound to a cid OpenVPN gives to someone else", async () => {
  const t = setup("deny");
  // A certificate-only client: its session cannot be resumed, so it ends at DISCONNECT.
  await t.store.putSession(session());
  // And one whose client left as a new client took its cid after the DISCONNECT: kept.
  await t.store.putSession(session({ sessionId: "s-2", username: "bob", cid: 6 }));
  t.clock.advance(60_000);
  t.state.down = true;
  await t.events.onDisconnect(4);
  await t.events.onDisconnect(6);
  t.clock.advance(500);
  await t.memory.updateSession({
    ...(await t.memory.getSession("s-2"))!,
    resumable: true,
    lastAuthAt: t.clock.now(),
  });
  // Still down at the first retry.
  t.clock.advance(1_000);
  await settle();
  assertEquals((await t.memory.getSession("s-1"))?.cid, 4);
  t.state.down = false;
  t.clock.advance(2_000);
  await settle();
  assertEquals(await t.memory.getSession("s-1"), undefined, "ended");
  assertEquals(t.revoked, ["rt-1"], "and its refresh token revoked");
  assertEquals((await t.memory.getSession("s-2"))?.cid, 6, "the new binding of cid 6 kept");
  t.events.close();
});

Deno.test("KnownSessions keeps no claims or tokens, follows unbinds and deletes, and stays bounded", async () => {
  const known = new KnownSessions(2);
  const store = known.watch(new MemoryStore({ maxEntries: 10, now: () => T0 }));
  await store.putSession(session());
  const kept = known.get("s-1");
  assertEquals([kept?.cid, kept?.refreshToken, kept?.claims, kept?.groups], [4, undefined, {}, []]);
  await store.putSession(session({ cid: undefined }));
  assertEquals(known.get("s-1"), undefined);
  await store.putSession(session({ cid: 8 }));
  assertEquals(known.get("s-1")?.cid, 8);
  await store.deleteSession("s-1");
  assertEquals(known.get("s-1"), undefined);
  for (const id of ["a", "b", "c"]) await store.putSession(session({ sessionId: id, cid: 1 }));
  assertEquals([known.size, known.get("a"), known.get("c")?.sessionId], [2, undefined, "c"]);
});
