/**
 * A bypassed client's CONNECT or REAUTH is answered `client-auth-nt` only in the run of OpenVPN
 * it came in. It may wait for its session's lock (held across a refresh at the IdP) while
 * OpenVPN restarts in place and hands its cid and kid to a new client: that client must not be
 * let in by an answer meant for another.
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

Deno.test("a bypassed client's event that waited for its session's lock while OpenVPN restarted is not answered", async () => {
  for (const kind of ["connect", "reauth"] as const) {
    for (const restarted of [false, true]) {
      const clock = new FakeClock(T0);
      const store = new MemoryStore({ maxEntries: 10, now: clock.now });
      const { events, commander, admission } = testClientEvents({
        store,
        clock,
        bypassCommonNames: [/^alice$/],
      });
      await events.openvpnRunIs("run-1");
      let release!: () => void;
      const held = admission.sessionLock.run("s-1", () => new Promise<void>((r) => (release = r)));
      const handling = kind === "connect"
        ? events.onConnect(4, 1, testEnv({}))
        : events.onReauth(4, 2, testEnv({}));
      await settle();
      if (restarted) await events.openvpnRunIs("run-2");
      release();
      await held;
      await handling;
      assertEquals(
        commander.commands.map((command) => command.kind),
        restarted ? [] : ["auth-nt"],
        `${kind}, ${restarted ? "restarted" : "same run"}`,
      );
      events.close();
    }
  }
});
