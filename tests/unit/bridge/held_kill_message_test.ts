/**
 * A kill the management link could not take (it was down) is held and sent when the link is
 * back in the same OpenVPN run, with the message it would have had: a session max_per_user
 * ended tells its user why (`RESTART,<text>`), as the kill sent at once does. Wired as the
 * daemon wires a bridge without `[cluster]`: SessionEnd's killLater is ClientEvents'
 * killWhenLinked.
 */
import { assertEquals } from "../../support/assert.ts";
import { KILL_MESSAGE, killMessage } from "../../../src/bridge/session_end.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  settle,
  testClientEvents,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { switchableLink } from "../../support/recording_commander.ts";
import { recordingSessionEnd } from "../../support/session_end_fixture.ts";

const RUN = "4242@1795878880:CONNECTED";

/** ClientEvents and a SessionEnd over one link, which is down; OpenVPN's run told once. */
async function linkDown() {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const link = switchableLink({ up: true });
  const { events } = testClientEvents({
    store,
    clock: new FakeClock(T0),
    eventsCommander: link.commander,
  });
  const { end } = recordingSessionEnd(store, {
    commanders: () => link.commander,
    killLater: (_server, cid, run, message) => events.killWhenLinked(cid, message, run),
  });
  await events.openvpnRunIs(RUN);
  link.state.up = false;
  /** The link is back, in the same run: what it sent. */
  const back = async () => {
    link.state.up = true;
    await events.openvpnRunIs(RUN);
    await settle();
    return link.commands;
  };
  return { store, events, end, back };
}

Deno.test("a session max_per_user ended while the link was down has its client killed with the text it would have had once the link is back", async () => {
  const t = await linkDown();
  await t.store.putSession(testSession({ openvpnRun: RUN }));
  assertEquals((await t.end.endAll(["s-1"], "max-per-user")).stillConnected.length, 1);
  assertEquals(await t.back(), [
    { kind: "kill", cid: 4, message: "RESTART,You signed in on another device" },
  ]);
  t.events.close();
});

Deno.test("a kill held for the link keeps each message: with a text, a HALT, and a bare RESTART", async () => {
  const t = await linkDown();
  const halt = "HALT,VPN server misconfigured: ask its administrator";
  t.events.killWhenLinked(4, killMessage("replaced"));
  t.events.killWhenLinked(5, halt);
  t.events.killWhenLinked(6, KILL_MESSAGE);
  assertEquals(await t.back(), [
    { kind: "kill", cid: 4, message: "RESTART,You signed in on another device" },
    { kind: "kill", cid: 5, message: halt },
    { kind: "kill", cid: 6, message: KILL_MESSAGE },
  ]);
  t.events.close();
});

Deno.test("a kill whose message OpenVPN would not take is held as a bare RESTART: the client goes all the same, and nothing large is held", async () => {
  const t = await linkDown();
  t.events.killWhenLinked(4, `RESTART,${"x".repeat(10_000)}`);
  t.events.killWhenLinked(5, "RESTART,two\nlines");
  assertEquals(await t.back(), [
    { kind: "kill", cid: 4, message: KILL_MESSAGE },
    { kind: "kill", cid: 5, message: KILL_MESSAGE },
  ]);
  t.events.close();
});
