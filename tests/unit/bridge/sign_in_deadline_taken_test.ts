/**
 * A sign-in is answered once. Its deadline denies the client only when the sign-in is still in
 * the store: one its callback took (and is answering, perhaps still waiting for the IdP when the
 * deadline passes) is the callback's to answer, and a timeout deny then would refuse a user who
 * signed in in time.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  settle,
  testClientEvents,
  testEnv,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";

Deno.test("a sign-in its callback took before the deadline is not denied as timed out when the deadline passes", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events, commander } = testClientEvents({
    store,
    clock,
    authPendingTimeoutMs: 60_000,
    newLoginId: () => LOGIN_ID,
  });
  await events.onConnect(4, 1, testEnv({ session_id: "s-new" }));
  assertEquals(commander.commands.map((command) => command.kind), ["pending"]);
  // The browser came back in time: the callback holds the sign-in while the IdP answers.
  assertEquals((await store.takePending(LOGIN_ID))?.cid, 4);
  const logs = captureLogs();
  try {
    clock.advance(60_001);
    await settle();
  } finally {
    logs.stop();
  }
  assertEquals(commander.commands.map((command) => command.kind), ["pending"], "denied as well");
  assertEquals(logs.lines.filter((line) => line.category === "audit"), []);
  events.close();
});
