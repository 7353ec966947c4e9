/**
 * A session records where its client is now: a reconnect from another network, or a client that
 * floated to another address, updates its client IP (later audit lines and `sessions list`
 * showed the sign-in's address for the whole session).
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";

/** Alice's resumable session s-1, signed in from 198.51.100.7 on cid 4. */
async function aliceSignedIn() {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const fixture = testClientEvents({ store, clock });
  await store.putSession(testSession({ resumable: true, clientIp: "198.51.100.7" }));
  return { ...fixture, store };
}

Deno.test("a reconnect from a new address records it: the session and its later audit lines name it", async () => {
  const t = await aliceSignedIn();
  await t.events.onDisconnect(4);
  const env = testEnv({ session_state: "Authenticated", untrusted_ip: "203.0.113.9" });
  await t.events.onConnect(7, 1, env);
  assertEquals((await t.store.getSession("s-1"))?.clientIp, "203.0.113.9");
  const lines = await logsOf(() => t.sessionEnd.endAll(["s-1"], "admin-revoke"));
  t.events.close();
  assertEquals(
    lines.filter((line) => line.category === "audit").map((line) => line.text),
    ["session ended alice (subject u-1) on default cid 7, certificate alice, from 203.0.113.9: revoked"],
  );
});

Deno.test("a renegotiation from a new address (a floated client) records it; one without an address keeps the one recorded", async () => {
  const t = await aliceSignedIn();
  await t.events.onReauth(4, 2, testEnv({ untrusted_ip: "2001:db8::5" }));
  assertEquals((await t.store.getSession("s-1"))?.clientIp, "2001:db8::5");
  await t.events.onReauth(4, 3, testEnv({}));
  t.events.close();
  assertEquals((await t.store.getSession("s-1"))?.clientIp, "2001:db8::5");
  assertEquals(t.commander.commands.map((command) => command.kind), ["auth-nt", "auth-nt"]);
});
