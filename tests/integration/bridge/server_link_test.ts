/**
 * ServerLink over a real management connection to the scripted OpenVPN side: protocol warnings
 * keep their promise (a dropped block that names its client gets a client-deny, and each
 * warning is logged once).
 */
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { assert, assertEquals } from "../../support/assert.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { managementCommander } from "../../../src/bridge/management_commander.ts";
import { systemClock } from "../../../src/clock.ts";
import { getLogger } from "../../../src/log.ts";
import { ManagementConnection } from "../../../src/management/connection.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { ProtocolLimits } from "../../../src/management/protocol.ts";
import { testClientEvents, testSession } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { STARTED_AT } from "../../support/openvpn_side.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

/** A ServerLink over a real management connection to `server` (not started). */
function linkTo(server: FakeManagementServer): ServerLink {
  return linkAndEvents(server).link;
}

function linkAndEvents(server: FakeManagementServer) {
  const connection = new ManagementConnection({
    address: server.address,
    commandTimeoutMs: 2000,
    reconnectMaxDelayMs: 100,
    clock: systemClock,
  });
  const { events } = testClientEvents({
    store: new MemoryStore({ maxEntries: 10 }),
    clock: new FakeClock(),
    eventsCommander: managementCommander(connection),
  });
  return { link: new ServerLink(connection, events, getLogger("clients"), systemClock), events };
}

async function withLink(
  fn: (server: FakeManagementServer, records: LogRecord[]) => Promise<void>,
): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["openvpn-auth-oidc"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  const server = await FakeManagementServer.start();
  const link = linkTo(server);
  link.start();
  try {
    await server.waitForLine("status 3");
    await fn(server, records);
  } finally {
    await link.stop();
    await server.stop();
    await reset();
  }
}

const warnings = (records: LogRecord[]) =>
  records.filter((record) => record.level === "warning" || record.level === "error");

Deno.test("a malformed CONNECT block that names its cid and kid gets one client-deny and one log line", async () => {
  await withLink(async (server, records) => {
    const before = warnings(records).length;
    server.sendLines([
      ">CLIENT:CONNECT,5,1",
      ">CLIENT:ENV,common_name=alice",
      ">CLIENT:ENV,password=a-secret",
      ">CLIENT:ENV,no value here",
      ">CLIENT:ENV,END",
    ]);
    await server.waitForLine((line) => line.startsWith("client-deny 5 1 "));
    // A second dropped block as a marker: once it is denied, everything the first caused is done.
    server.sendLines([">CLIENT:CONNECT,6,3", ">CLIENT:ENV,=x", ">CLIENT:ENV,END"]);
    await server.waitForLine((line) => line.startsWith("client-deny 6 3 "));
    assertEquals(server.received.filter((line) => / 5 1 /.test(line)), [
      'client-deny 5 1 "malformed request" "Sign-in failed on the server; try again"',
    ]);
    const logged = warnings(records).slice(before);
    const aboutBlock = logged.filter((record) => record.properties["cid"] === 5);
    assertEquals(aboutBlock.length, 1, JSON.stringify(logged.map((r) => r.rawMessage)));
    assertEquals(logged.length, 2, "the marker's own warning besides");
    assert(!JSON.stringify(logged).includes("a-secret"));
  });
});

Deno.test("a malformed CONNECT header whose ids parse is denied; one without ids is only logged", async () => {
  await withLink(async (server, records) => {
    const before = warnings(records).length;
    server.sendLines([">CLIENT:CONNECT,7,2,junk", ">CLIENT:ENV,a=b", ">CLIENT:ENV,END"]);
    server.sendLines([">CLIENT:CONNECT,x,3", ">CLIENT:ENV,a=b", ">CLIENT:ENV,END"]);
    await server.waitForLine((line) => line.startsWith("client-deny 7 2 "));
    // A marker as in the test above: once it is denied, the blocks before it are done.
    server.sendLines([">CLIENT:CONNECT,8,1", ">CLIENT:ENV,=x", ">CLIENT:ENV,END"]);
    await server.waitForLine((line) => line.startsWith("client-deny 8 1 "));
    assertEquals(server.received.filter((line) => line.startsWith("client-deny")).length, 2);
    const logged = warnings(records).slice(before).map((record) => record.properties["message"]);
    assertEquals(logged, [
      "Malformed >CLIENT:CONNECT line: block dropped",
      "Malformed >CLIENT:CONNECT line: block dropped",
      ">CLIENT block with 1 ENV lines dropped: malformed ENV line (no name=value)",
    ]);
  });
});

Deno.test("onLinkUp listeners are told each time the management link comes up, again after a drop", async () => {
  const server = await FakeManagementServer.start();
  const { link, events } = linkAndEvents(server);
  let ups = 0;
  const seenLinkUp: boolean[] = [];
  // A sign-in of the run the stand-in tells: a listener (a cluster's work runner) may already
  // have it judged.
  const signIn = { loginId: "L".repeat(22), openvpnRun: `4242@${STARTED_AT}:CONNECTED` };
  const judged: Array<boolean | undefined> = [];
  assertEquals(events.isCurrentSignIn(0, signIn), undefined, "not before the link came up");
  const unsubscribe = link.onLinkUp(() => {
    ups++;
    seenLinkUp.push(link.linkUp);
    judged.push(events.isCurrentSignIn(0, signIn));
  });
  link.start();
  try {
    await pollUntil("the link to come up", () => ups === 1 || undefined, 5000, 10);
    await server.closeClient();
    await pollUntil("the link to come up again", () => ups === 2 || undefined, 5000, 10);
    // Told once the link can carry commands.
    assertEquals(seenLinkUp, [true, true]);
    assertEquals(judged, [true, true]);
    unsubscribe();
    await server.closeClient();
    await server.waitForConnections(3);
    // The third link's `status 3` is sent after its listeners were told. Counted per
    // connection: the second link's may have been lost in the close that ended it.
    await server.waitForLine(() =>
      server.transcript.some((entry) => entry.connection === 3 && entry.line === "status 3")
    );
    assertEquals(ups, 2, "not told after unsubscribing");
  } finally {
    await link.stop();
    await server.stop();
  }
});

/**
 * A bridge holding sessions bound to cids 1, 2 and 3 (signed in a minute before the link came
 * up) links to a server that lists the clients `listed`, with `limits` on its replies; resolves
 * once `done` holds, with the cids still bound and the warnings logged.
 */
async function reconcile(
  listed: readonly number[],
  limits: Partial<ProtocolLimits>,
  done: (bound: number[], warned: string[]) => boolean,
): Promise<{ bound: number[]; warned: string[] }> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["openvpn-auth-oidc"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  const server = await FakeManagementServer.start();
  for (const cid of listed) server.clients.set(cid, `client-${cid}`);
  const store = new MemoryStore({ maxEntries: 10 });
  for (const cid of [1, 2, 3]) {
    const signedIn = Date.now() - 60_000;
    await store.putSession(testSession({ sessionId: `s-${cid}`, cid, lastAuthAt: signedIn }));
  }
  const connection = new ManagementConnection({
    address: server.address,
    commandTimeoutMs: 2000,
    reconnectMaxDelayMs: 100,
    clock: systemClock,
    limits,
  });
  const { events } = testClientEvents({
    store,
    clock: new FakeClock(),
    eventsCommander: managementCommander(connection),
  });
  const link = new ServerLink(connection, events, getLogger("clients"), systemClock);
  link.start();
  try {
    await server.waitForLine("status 3");
    const state = async () => ({
      bound: (await store.listBindings("default")).map(({ cid }) => cid).sort(),
      warned: warnings(records).map((record) => record.message.join("")),
    });
    return await pollUntil(
      "the client list to be handled",
      async () => {
        const now = await state();
        return done(now.bound, now.warned) ? now : undefined;
      },
      5000,
      10,
    );
  } finally {
    await link.stop();
    await server.stop();
    await reset();
  }
}

Deno.test("a client missing from OpenVPN's client list after connecting loses its session", async () => {
  const { bound, warned } = await reconcile([1, 2], {}, (bound) => bound.length < 3);
  assertEquals(bound, [1, 2]);
  assertEquals(warned, []);
});

Deno.test("a client list cut at the reply limit ends no session, and says so", async () => {
  // Room for the list's title, time and header lines and one client: clients 2 and 3, still
  // connected, are not in what is kept.
  const { bound, warned } = await reconcile(
    [1, 2, 3],
    { maxReplyChars: 450 },
    (bound, warned) => bound.length < 3 || warned.length > 1,
  );
  assertEquals(bound, [1, 2, 3]);
  // The protocol's line says what was dropped, the bridge's what it did about it.
  assertEquals(warned.length, 2, warned.join("\n"));
  assert(warned[0]!.includes("Reply longer than 450 chars"), warned[0]);
  assert(warned[1]!.includes("client list was cut"), warned[1]);
});
