/**
 * A client list cut at the management reply limit leaves out clients still connected: a
 * link-up's check must end no session for missing from it (ServerLink#clientIds), else each of
 * those clients would be denied at its next renegotiation.
 */
import { assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import type { Reply } from "../../../src/management/events.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testClientEvents, testSession } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const T0 = 1_800_000_000_000;
const STATE_1 = { time: T0 / 1000 - 3600, state: "CONNECTED" };
const RUN_1 = `4242@${STATE_1.time}:CONNECTED`;

Deno.test("a client list cut at the reply limit ends no session of a client missing from it", async () => {
  const memory = new MemoryStore({ maxEntries: 10, now: () => T0 });
  for (const cid of [1, 2]) {
    await memory.putSession(testSession({
      sessionId: `s-${cid}`,
      cid,
      openvpnRun: RUN_1,
      lastAuthAt: T0 - 60_000,
    }));
  }
  // Cid 2 is still connected: its line fell past the limit.
  const cut: Reply = {
    ticket: 1,
    type: "lines",
    lines: ["HEADER\tCLIENT_LIST\tCommon Name\tClient ID", "CLIENT_LIST\tclient-1\t1"],
    truncated: true,
  };
  const { connection, emit } = scriptedConnection((command) =>
    command.text === "status 3" ? cut : { ticket: 2, type: "success", message: "ok" }
  );
  const clock = new FakeClock(T0);
  const { events } = testClientEvents({ store: memory, clock });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  try {
    emit({ type: "connected", managementVersion: 5, openvpnPid: 4242, openvpnStates: [STATE_1] });
    await new Promise((resolve) => setTimeout(resolve, 0));
    const bound = (await memory.listBindings("default")).map(({ cid }) => cid).sort();
    assertEquals(bound, [1, 2], "a session of a client still connected was ended");
  } finally {
    await link.stop();
  }
});
