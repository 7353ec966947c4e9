/**
 * README (sessions): "A row younger than 3 s is judged again when it is 3 s old".
 *
 * Clients that connected while no bridge was listening (OpenVPN dropped their CONNECT) are
 * restarted at link-up (unheard_clients.ts): a `status 3` row with no virtual address whose
 * cid the bridge knows nothing of gets `client-kill {cid} RESTART`, so it reconnects on its
 * token at once instead of waiting for hand-window. Not restarted: a client with an address, one
 * whose sign-in the bridge took over from its store, one whose CONNECT came while the list was
 * read, one the list was too young to judge and whose CONNECT came before it was judged again,
 * and none when the store could not list the sign-ins to take over (any may be one).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { UNHEARD_MIN_AGE_SEC } from "../../../src/bridge/unheard_clients.ts";
import type { ConnectionEvent } from "../../../src/management/connection.ts";
import type { Reply } from "../../../src/management/events.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import {
  testClientEvents,
  testEnv,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { clientListLine } from "../../support/openvpn_side.ts";

const T0 = 1_800_000_000_000;
const NOW_SEC = T0 / 1000;
const STATE_1 = { time: NOW_SEC - 3600, state: "CONNECTED" };
const RUN_1 = `4242@${STATE_1.time}:CONNECTED`;
const CONNECTED: ConnectionEvent = {
  type: "connected",
  managementVersion: 5,
  openvpnPid: 4242,
  openvpnStates: [STATE_1],
};

/** OpenVPN restarted in place (SIGHUP): the link stays up and tells the new run. */
const RESTARTED_IN_PLACE: ConnectionEvent = {
  type: "state",
  time: NOW_SEC,
  state: "CONNECTED",
  description: "SUCCESS",
  details: [],
};

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A `CLIENT_LIST` row of cid `cid`, connected `ageSec` before NOW_SEC, with no address. */
function unaddressed(cid: number, ageSec: number): string {
  return clientListLine(cid, `client-${cid}`, {
    unaddressed: true,
    connectedSince: NOW_SEC - ageSec,
  });
}

/** `status 3` as OpenVPN 2.6 prints it (openvpn_side.ts), at NOW_SEC, with these rows. */
function status3(rows: readonly string[]): Reply {
  return {
    ticket: 1,
    type: "lines",
    lines: [
      "TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu",
      `TIME\t2027-01-15 08:00:00\t${NOW_SEC}`,
      "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher",
      ...rows,
      "END",
    ],
    truncated: false,
  };
}

/** `rows`: the list's rows, or those of its `read`th reading (from 1). */
function linkWith(
  rows: readonly string[] | ((read: number) => readonly string[]),
  whileReading: (emit: (event: ConnectionEvent) => void) => void = () => {},
) {
  const store = new MemoryStore({ maxEntries: 10, now: () => T0 });
  const clock = new FakeClock(T0);
  // Their CONNECTs are admitted at once: no sign-in tells of them, only the CONNECT itself.
  const bypassCommonNames = [/^bypassed-\d+$/];
  const { events, commander } = testClientEvents({ store, clock, bypassCommonNames });
  let reads = 0;
  const script = scriptedConnection((command) => {
    if (command.text !== "status 3") return { ticket: 2, type: "success", message: "ok" };
    // Events that arrive before the reply: handled before it is.
    whileReading(script.emit);
    return status3(typeof rows === "function" ? rows(++reads) : rows);
  });
  const link = new ServerLink(script.connection, events, getLogger("clients"), clock);
  const restarted = () =>
    commander.commands.filter((c) => c.kind === "kill").map((c) =>
      c.kind === "kill" ? `${c.cid} ${c.message}` : ""
    );
  return { store, clock, events, link, emit: script.emit, restarted };
}

Deno.test("a link-up restarts the clients OpenVPN never told it of, and no other", async () => {
  const logs = captureLogs();
  const t = linkWith([
    clientListLine(1, "admitted"),
    unaddressed(2, 10),
    unaddressed(3, 10),
    unaddressed(4, 10),
    unaddressed(5, 60),
  ], (emit) =>
    // Cid 4's CONNECT came while the list was read: it is being handled.
    emit({ type: "client-connect", cid: 4, kid: 1, env: testEnv({ common_name: "bypassed-4" }) }));
  // Cid 3 waits for its user: a sign-in the store kept across the bridge's restart.
  await t.store.putPending(testPendingLogin({ cid: 3, openvpnRun: RUN_1, expiresAt: T0 + 60_000 }));
  await t.events.adoptPendingLogins();
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    assertEquals(t.restarted(), ["2 RESTART", "5 RESTART"]);
    const info = logs.lines.filter((l) => l.level === "info" && l.text.startsWith("Restarted"));
    assertEquals(info.map((l) => l.properties.count), [2]);
  } finally {
    logs.stop();
    await t.link.stop();
  }
});

Deno.test("a client too young to judge is restarted later, unless its CONNECT came meanwhile", async () => {
  const t = linkWith([unaddressed(6, 0), unaddressed(7, 1), unaddressed(8, 10)]);
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    assertEquals(t.restarted(), ["8 RESTART"]);
    t.emit({ type: "client-connect", cid: 6, kid: 1, env: testEnv({ common_name: "bypassed-6" }) });
    t.clock.advance(UNHEARD_MIN_AGE_SEC * 1000 - 1);
    await settle();
    assertEquals(t.restarted(), ["8 RESTART"], "judged again too early");
    t.clock.advance(1);
    await settle();
    assertEquals(t.restarted(), ["8 RESTART", "7 RESTART"]);
  } finally {
    await t.link.stop();
  }
});

Deno.test("a link that goes down before the second look restarts nobody more and leaves no timer", async () => {
  const t = linkWith([unaddressed(6, 0)]);
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    t.emit({ type: "disconnected", reason: "test" });
    await settle();
    t.clock.advance(UNHEARD_MIN_AGE_SEC * 1000);
    await settle();
    assertEquals(t.restarted(), []);
    assertEquals(t.clock.pendingTimers, 0);
  } finally {
    await t.link.stop();
  }
});

Deno.test("OpenVPN restarting in place before the second look: its cids are not restarted", async () => {
  const t = linkWith([unaddressed(6, 0)]);
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    t.emit(RESTARTED_IN_PLACE);
    await settle();
    t.clock.advance(UNHEARD_MIN_AGE_SEC * 1000);
    await settle();
    assertEquals(t.restarted(), []);
  } finally {
    await t.link.stop();
  }
});

Deno.test("OpenVPN restarting in place (the link stays up) restarts nobody", async () => {
  // The new run's list holds a client in its handshake: the link was up, so it is heard of.
  const t = linkWith((read) => read === 1 ? [clientListLine(1, "admitted")] : [unaddressed(1, 10)]);
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    t.emit(RESTARTED_IN_PLACE);
    await settle();
    assertEquals(t.restarted(), []);
  } finally {
    await t.link.stop();
  }
});

Deno.test("README names the age under which a row is judged again", async () => {
  const readme = await Deno.readTextFile(new URL("../../../README.md", import.meta.url));
  const said =
    `younger than ${UNHEARD_MIN_AGE_SEC} s is judged again when it is ${UNHEARD_MIN_AGE_SEC} s old`;
  assertEquals(readme.replace(/\s+/g, " ").includes(said), true, said);
});

Deno.test("no client is restarted when the store could not list the sign-ins to take over", async () => {
  const t = linkWith([unaddressed(2, 10), unaddressed(3, 0)]);
  // As a Redis that is down when the bridge starts.
  t.store.pendingPages = async function* () {
    yield await Promise.reject(new StoreUnavailableError("Session store unreachable: test"));
  };
  await t.events.adoptPendingLogins();
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    t.clock.advance(UNHEARD_MIN_AGE_SEC * 1000);
    await settle();
    assertEquals(t.restarted(), []);
  } finally {
    await t.link.stop();
  }
});

Deno.test("a connected client without an address (a TAP bridge's DHCP client) whose session is bound in this run is not restarted", async () => {
  const t = linkWith([unaddressed(2, 10), unaddressed(3, 10), unaddressed(4, 10)]);
  // Admitted before the bridge restarted: cid 2 in this run, cid 3 by an older version that
  // recorded no run; cid 4's session is of an earlier run, so that client is not it.
  await t.store.putSession(testSession({ sessionId: "s-2", cid: 2, openvpnRun: RUN_1 }));
  await t.store.putSession(testSession({ sessionId: "s-3", cid: 3 }));
  await t.store.putSession(
    testSession({ sessionId: "s-4", cid: 4, openvpnRun: `4242@${NOW_SEC - 7200}:CONNECTED` }),
  );
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    assertEquals(t.restarted(), ["4 RESTART"]);
  } finally {
    await t.link.stop();
  }
});

Deno.test("no client is restarted when the store could not list the clients it admitted, and a warning says so", async () => {
  const logs = captureLogs();
  const t = linkWith([unaddressed(2, 10), unaddressed(3, 0)]);
  t.store.listBindings = () => Promise.reject(new StoreUnavailableError("unreachable: test"));
  t.link.start();
  try {
    t.emit(CONNECTED);
    await settle();
    t.clock.advance(UNHEARD_MIN_AGE_SEC * 1000);
    await settle();
    assertEquals(t.restarted(), []);
    assert(
      logs.lines.some((l) =>
        l.level === "warning" && l.text.startsWith("Clients that connected while the bridge")
      ),
    );
  } finally {
    logs.stop();
    await t.link.stop();
  }
});
