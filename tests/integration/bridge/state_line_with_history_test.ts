/**
 * A `>STATE:` line OpenVPN writes while the bridge's link comes up, before its reply to
 * `state all`: that history holds the state already, so the bridge must not count it again
 * (openvpn_run.ts names a run by how many of its latest time and state the history holds).
 * OpenVPN can write the line and the reply at once, and the bridge then reads both in one
 * chunk. Counted twice, the live bridge named the run `...#2` and a bridge that read the same
 * history later `...`: the second ended or unbound every session the first had bound.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testSession } from "../../support/client_events_fixture.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { STARTED_AT, startStates } from "../../support/openvpn_side.ts";
import { linkAndEvents } from "../../support/server_link_fixture.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

/** The run of the stand-in's start, as any bridge reading its history names it. */
const RUN = `4242@${STARTED_AT}:CONNECTED`;

Deno.test("a >STATE line read with the reply to `state all` counts once: a bridge taking the link later keeps the first bridge's bindings, and a revoke kills the client", async () => {
  const server = await FakeManagementServer.start();
  server.clients.set(0, "alice");
  const history = startStates(STARTED_AT);
  let firstLink = true;
  server.respond = (command) => {
    if (command !== "state all" || !firstLink) return "default";
    firstLink = false;
    // OpenVPN reached CONNECTED after `state on`: its line and the reply leave in one write.
    return [`>STATE:${history.at(-1)}`, ...history, "END"];
  };
  const store = new MemoryStore({ maxEntries: 10 });
  const first = linkAndEvents(server, { store });
  const second = linkAndEvents(server, { store });
  try {
    first.link.start();
    await server.waitForLine("status 3");
    const firstRun = first.events.openvpnRun;
    // Alice signed in through the first bridge, her client on cid 0 of the run it named.
    await store.putSession(
      testSession({
        resumable: true,
        cid: 0,
        openvpnRun: firstRun,
        lastAuthAt: Date.now() - 60_000,
      }),
    );
    await first.link.stop();
    // A marker stored after her on a cid OpenVPN does not list: once it is ended, the second
    // bridge's link-up check of which clients are gone has passed hers.
    await store.putSession(
      testSession({ sessionId: "s-marker", cid: 9, lastAuthAt: Date.now() - 60_000 }),
    );
    second.link.start();
    await pollUntil(
      "the second link-up's check to end the marker",
      async () => (await store.getSession("s-marker")) === undefined || undefined,
      5000,
      10,
    );
    assertEquals((await store.getSession("s-1"))?.cid, 0);
    const mark = server.received.length;
    await second.sessionEnd.endAll(["s-1"], "admin-revoke");
    assertEquals(
      server.received.slice(mark).filter((line) => line.startsWith("client-kill")),
      ['client-kill 0 "RESTART,An administrator ended your VPN session"'],
    );
    assertEquals([firstRun, second.events.openvpnRun], [RUN, RUN]);
  } finally {
    await first.link.stop();
    await second.link.stop();
    await server.stop();
  }
});
