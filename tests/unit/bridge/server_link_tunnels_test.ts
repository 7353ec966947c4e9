/**
 * ServerLink.tunnels (tunnel_count.ts) over a stand-in connection: set from `status 3` at the
 * link-up, ESTABLISHED in and DISCONNECT out as each event arrives, unknown from the moment
 * OpenVPN says it restarted in place until the new run's list is read, and while the link is
 * down.
 */
import { assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import type { Reply } from "../../../src/management/events.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { testClientEvents, testEnv } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const T0 = 1_800_000_000_000;
const STATE = { time: T0 / 1000 - 3600, state: "CONNECTED" };

/** Lets what an event started (the list read, the check after it) run to its end. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** `status 3` listing `rows` ([cid, virtual address]), as the columns the bridge reads. */
function status3(rows: ReadonlyArray<readonly [number, string]>): Reply {
  return {
    ticket: 1,
    type: "lines",
    lines: [
      "HEADER\tCLIENT_LIST\tCommon Name\tVirtual Address\tClient ID",
      ...rows.map(([cid, address]) => `CLIENT_LIST\tclient-${cid}\t${address}\t${cid}`),
    ],
    truncated: false,
  };
}

Deno.test("ServerLink.tunnels: the list at link-up, then each ESTABLISHED and DISCONNECT; unknown across an in-place restart until its list, and while down", async () => {
  // The first read lists 1 and 2 with an address and 3 in its handshake; the second, after the
  // restart, only the new run's 0.
  const lists = [
    status3([[1, "10.8.0.2"], [2, "10.8.0.3"], [3, ""]]),
    status3([[0, "10.8.0.2"]]),
  ];
  let reads = 0;
  const { connection, emit } = scriptedConnection((command) =>
    command.text === "status 3" ? lists[reads++]! : { ticket: 2, type: "success", message: "ok" }
  );
  const clock = new FakeClock(T0);
  const { events } = testClientEvents({ store: new MemoryStore({ maxEntries: 10 }), clock });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  try {
    assertEquals(link.tunnels, undefined, "before the link came up");
    emit({ type: "connected", managementVersion: 5, openvpnPid: 4242, openvpnStates: [STATE] });
    assertEquals(link.tunnels, undefined, "while the list is read");
    await settle();
    assertEquals(link.tunnels, 2);

    emit({ type: "client-established", cid: 3, env: testEnv({}) });
    assertEquals(link.tunnels, 3);
    // A client never let in (refused at its CONNECT) leaves too.
    emit({ type: "client-disconnect", cid: 9, env: testEnv({}) });
    emit({ type: "client-disconnect", cid: 1, env: testEnv({}) });
    assertEquals(link.tunnels, 2);
    await settle();

    // A restart in place whose DISCONNECTs did not come (2.6 sends them first: the test below
    // replays that): the link stays up, the clients counted went with the run before.
    emit({
      type: "state",
      time: STATE.time + 60,
      state: "CONNECTED",
      description: "SUCCESS",
      details: [],
    });
    assertEquals(link.tunnels, undefined, "the old run's count is not shown for the new one");
    await settle();
    assertEquals(reads, 2);
    assertEquals(link.tunnels, 1);

    emit({ type: "disconnected", reason: "Management connection closed by OpenVPN" });
    assertEquals(link.tunnels, undefined);
  } finally {
    await link.stop();
  }
});

Deno.test("ServerLink.tunnels through OpenVPN's restart in place as 2.6 does it (restart_in_place.ts): each DISCONNECT out first, unknown from the state line while OpenVPN cannot list, then the new run's tunnels once each", async () => {
  const error: Reply = {
    ticket: 1,
    type: "error",
    message: "The 'status' command is not supported by the current daemon mode",
  };
  // At link-up, at RECONNECTING (refused), at ASSIGN_IP and at CONNECTED (nobody back yet).
  const lists = [status3([[0, "10.8.0.2"], [1, "10.8.0.3"]]), error, status3([]), status3([])];
  let reads = 0;
  const { connection, emit } = scriptedConnection((command) =>
    command.text === "status 3" ? lists[reads++]! : { ticket: 2, type: "success", message: "ok" }
  );
  const clock = new FakeClock(T0);
  const { events } = testClientEvents({ store: new MemoryStore({ maxEntries: 10 }), clock });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  try {
    emit({ type: "connected", managementVersion: 5, openvpnPid: 4242, openvpnStates: [STATE] });
    await settle();
    assertEquals(link.tunnels, 2);

    const left = testEnv({ time_duration: "60", bytes_received: "1000", bytes_sent: "2000" });
    emit({ type: "client-disconnect", cid: 1, env: left });
    emit({ type: "client-disconnect", cid: 0, env: left });
    assertEquals(link.tunnels, 0, "each DISCONNECT took its tunnel off");
    const state = (time: number, name: string, description = "") =>
      emit({ type: "state", time, state: name, description, details: [] });
    state(STATE.time + 3600, "RECONNECTING", "SIGHUP");
    assertEquals(link.tunnels, undefined);
    await settle();
    assertEquals(link.tunnels, undefined, "OpenVPN refused the list while restarting");
    state(STATE.time + 3601, "ASSIGN_IP");
    state(STATE.time + 3601, "CONNECTED", "SUCCESS");
    await settle();
    assertEquals(reads, 4);
    assertEquals(link.tunnels, 0);

    // The clients come back with the cids of the clients before.
    emit({ type: "client-established", cid: 0, env: testEnv({}) });
    emit({ type: "client-established", cid: 1, env: testEnv({ common_name: "bob" }) });
    assertEquals(link.tunnels, 2);
  } finally {
    await link.stop();
  }
});
