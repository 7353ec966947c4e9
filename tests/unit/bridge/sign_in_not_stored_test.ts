/**
 * A CONNECT's sign-in that the store would not take: the client is denied once, saying why, and
 * nothing of the sign-in is left behind, so that no deadline fires later to deny the client a
 * second time (nor to audit a timeout that never was).
 */
import { assertEquals } from "../../support/assert.ts";
import { STORE_UNAVAILABLE } from "../../../src/bridge/denial.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  settle,
  switchableStore,
  testClientEvents,
  testEnv,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

Deno.test("a sign-in the store would not take is ended with its denial: no deadline is left to deny the client again", async () => {
  const clock = new FakeClock(T0);
  const { store, state } = switchableStore(new MemoryStore({ maxEntries: 10, now: clock.now }));
  const { events, commander } = testClientEvents({ store, clock, authPendingTimeoutMs: 60_000 });
  state.down = true;
  await events.onConnect(9, 1, testEnv({ session_id: "s-new" }));
  const deniedUnreachable = {
    kind: "deny",
    cid: 9,
    kid: 1,
    reason: STORE_UNAVAILABLE.logReason,
    clientReason: STORE_UNAVAILABLE.reason,
  };
  assertEquals(commander.commands, [deniedUnreachable]);
  // Still down when the deadline would have passed: a store that cannot say whether the callback
  // took the sign-in is read as "not taken", which would deny again.
  clock.advance(60_001);
  await settle();
  assertEquals(commander.commands, [deniedUnreachable], "denied again when its deadline passed");
  events.close();
});
