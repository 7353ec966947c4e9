/**
 * ServerLink over a real management connection to the scripted OpenVPN side: protocol warnings
 * keep their promise (a dropped block that names its client gets a client-deny, and each
 * warning is logged once), and a client OpenVPN never told the bridge of is restarted.
 */
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { assert, assertEquals } from "../../support/assert.ts";
import type { ClientEvents } from "../../../src/bridge/client_events.ts";
import { SessionEnd } from "../../../src/bridge/session_end.ts";
import { words } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import type { SessionStore } from "../../../src/sessions/types.ts";
import { testEnv, testSession } from "../../support/client_events_fixture.ts";
import { linkAndEvents, type LinkOptions } from "../../support/server_link_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { FakeManagementServer } from "../../support/fake_management_server.ts";
import { clientBlockLines, STARTED_AT } from "../../support/openvpn_side.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";
import { captureLogs } from "../../support/log_capture.ts";

/**
 * Runs `fn` once a started link has asked for OpenVPN's client list, which lists `clients`
 * (cids); `records` are the bridge's log records so far.
 */
async function withLink(
  fn: (
    server: FakeManagementServer,
    records: LogRecord[],
    wired: { sessionEnd: SessionEnd; events: ClientEvents },
  ) => Promise<void>,
  { clients = [], pid, managementVersion, ...options }: LinkOptions & {
    clients?: readonly number[] | ReadonlyMap<number, string>;
    /** OpenVPN's pid as the stand-in tells it (4242 when left out). */
    pid?: number;
    /** The management version the stand-in speaks (its default when left out). */
    managementVersion?: number;
  } = {},
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
  const server = await FakeManagementServer.start(
    managementVersion === undefined ? {} : { managementVersion },
  );
  if (pid !== undefined) server.pid = pid;
  if (Array.isArray(clients)) {
    for (const cid of clients) {
      server.clients.set(cid, `client-${cid}`);
    }
  } else {for (const [cid, name] of clients as ReadonlyMap<number, string>) {
      server.clients.set(cid, name);
    }}
  const { link, sessionEnd, events } = linkAndEvents(server, options);
  link.start();
  try {
    await server.waitForLine("status 3");
    await fn(server, records, { sessionEnd, events });
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

Deno.test("OpenVPN 2.4 (management version 1): one error at link-up names the server and version; a new client is stopped with HALT and the reason", async () => {
  await withLink(async (server, records) => {
    const errors = () => records.filter((record) => record.level === "error");
    server.sendLines(clientBlockLines("CONNECT", 5, 1, testEnv({ untrusted_ip: "198.51.100.7" })));
    await server.waitForLine((line) => line.startsWith("client-"));
    assertEquals(server.received.filter((line) => line.startsWith("client-")), [
      'client-kill 5 "HALT,This VPN server is too old for browser sign-in. Ask its administrator ' +
      'to update OpenVPN."',
    ]);
    assertEquals(errors().map((record) => record.properties), [{
      server: "default",
      version: 1,
      problem: words(
        "browser sign-in needs OpenVPN 2.5 or later (management version 3); 2.6 recommended",
      ),
    }]);
  }, { managementVersion: 1 });
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

/** A store with sessions bound to cids 1, 2 and 3, signed in a minute before the link came up. */
async function storeOfThreeClients(): Promise<MemoryStore> {
  const store = new MemoryStore({ maxEntries: 10 });
  const signedIn = Date.now() - 60_000;
  for (const cid of [1, 2, 3]) {
    await store.putSession(testSession({ sessionId: `s-${cid}`, cid, lastAuthAt: signedIn }));
  }
  return store;
}

async function boundCids(store: MemoryStore): Promise<number[]> {
  return (await store.listBindings("default")).map(({ cid }) => cid).sort();
}

Deno.test("a token reconnect whose client-auth OpenVPN does not confirm in time gets no client-deny after it, and keeps its session", async () => {
  const store = new MemoryStore({ maxEntries: 10 });
  await store.putSession(testSession({ sessionId: "s-alice", cid: undefined, resumable: true }));
  await withLink(async (server, records) => {
    // OpenVPN stalls (a slow learn-address script): the client-auth waits past its deadline.
    server.respond = (command) => command.startsWith("client-auth ") ? "none" : "default";
    server.sendLines(clientBlockLines(
      "CONNECT",
      7,
      1,
      testEnv({
        session_id: "s-alice",
        session_state: "Authenticated",
      }),
    ));
    await server.waitForLine((line) => line.startsWith("client-auth 7 1"));
    await pollUntil(
      "the unconfirmed answer to be reported",
      () => warnings(records).find((r) => String(r.rawMessage).includes("did not confirm")),
      5000,
      10,
    );
    // A marker: a later client's denial comes after anything the first one caused.
    server.sendLines([">CLIENT:CONNECT,8,1", ">CLIENT:ENV,=x", ">CLIENT:ENV,END"]);
    await server.waitForLine((line) => line.startsWith("client-deny 8 1 "));
    assertEquals(server.received.filter((line) => line.startsWith("client-deny 7 ")), []);
    assertEquals((await store.getSession("s-alice"))?.cid, 7);
  }, { store, commandTimeoutMs: 200 });
});

Deno.test("a client missing from OpenVPN's client list after connecting loses its session", async () => {
  const store = await storeOfThreeClients();
  await withLink(async (_server, records) => {
    await pollUntil(
      "cid 3 to be unbound",
      async () => (await boundCids(store)).length < 3 || undefined,
      5000,
      10,
    );
    assertEquals(await boundCids(store), [1, 2]);
    assertEquals(warnings(records), []);
  }, { clients: [1, 2], store });
});

/** `store` whose first listBindings fails as a Redis restarting with the bridge does. */
function failingFirstListing(store: MemoryStore): SessionStore {
  let listings = 0;
  return new Proxy(store, {
    get(target, name) {
      if (name === "listBindings" && listings++ === 0) {
        return () => Promise.reject(new StoreUnavailableError("Session store unreachable: test"));
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("a client missing from OpenVPN's client list loses its session once a store that failed at link-up is back", async () => {
  const store = await storeOfThreeClients();
  const clock = new FakeClock();
  await withLink(async (_server, records) => {
    await pollUntil(
      "a try again to be armed",
      () => clock.pendingTimers === 1 || undefined,
      5000,
      10,
    );
    assertEquals(await boundCids(store), [1, 2, 3]);
    assertEquals(warnings(records).map((record) => record.message.join("")), [
      "Could not end the sessions of clients that are gone; trying again in 1 s: " +
      "StoreUnavailableError: Session store unreachable: test",
    ]);
    clock.advance(1_000);
    await pollUntil(
      "cid 3 to be unbound",
      async () => (await boundCids(store)).length < 3 || undefined,
      5000,
      10,
    );
    assertEquals(await boundCids(store), [1, 2]);
    await pollUntil(
      "the line that says it worked",
      () => records.find((record) => record.message.join("").startsWith("Ended the sessions")),
      5000,
      10,
    );
    assertEquals(clock.pendingTimers, 0);
  }, { clients: [1, 2], store: failingFirstListing(store), linkClock: clock });
});

Deno.test("a client list cut at the reply limit ends no session, and says so", async () => {
  const store = await storeOfThreeClients();
  // Room for the list's title, time and header lines and one client: clients 2 and 3, still
  // connected, are not in what is kept.
  await withLink(async (_server, records) => {
    const warned = () => warnings(records).map((record) => record.message.join(""));
    await pollUntil(
      "the two warnings",
      async () => (await boundCids(store)).length < 3 || warned().length > 1 || undefined,
      5000,
      10,
    );
    assertEquals(await boundCids(store), [1, 2, 3]);
    // The protocol's line says what was dropped, the bridge's what it did about it.
    const [dropped, kept, ...more] = warned();
    assert(dropped?.includes("Reply longer than 450 chars"), dropped);
    assert(kept?.includes("client list was cut"), kept);
    assertEquals(more, []);
  }, { clients: [1, 2, 3], store, limits: { maxReplyChars: 450 } });
});

Deno.test("OpenVPN restarting in place (SIGHUP: the link stays up) ends the sessions of the clients it had, even with no DISCONNECT for them", async () => {
  const store = await storeOfThreeClients();
  await withLink(async (server) => {
    // Connected to the run that has clients 1-3: nothing ended.
    await server.waitForLine("status 3");
    assertEquals(await boundCids(store), [1, 2, 3]);
    // SIGHUP: every client is gone, the state line comes with the new start time. (2.6 sends a
    // DISCONNECT for each client before it, restart_in_place.ts: this is what ends the bindings
    // those did not.)
    server.clients.clear();
    const asked = server.received.filter((line) => line === "status 3").length;
    server.sendLines([`>STATE:${STARTED_AT + 60},CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194`]);
    await pollUntil(
      "the client list to be asked again and every session ended",
      async () =>
        server.received.filter((line) => line === "status 3").length > asked &&
          (await boundCids(store)).length === 0 || undefined,
      5000,
      10,
    );
    assertEquals(await store.getSession("s-1"), undefined);
  }, { clients: [1, 2, 3], store });
});

/** OpenVPN's run as the stand-in tells it with `pid` (openvpn_run.ts). */
const runOf = (pid: number, startedAt = STARTED_AT) => `${pid}@${startedAt}:CONNECTED`;

/**
 * A store with alice's session bound to cid 1 (recorded in `run`, or none) and, as a marker,
 * one bound to cid 9, which OpenVPN's list will not have: once it is ended, the link-up's
 * reconcile has gone past alice's (bindings are handled in the order stored).
 */
async function storeOfAlice(
  run: string | undefined,
  resumable: boolean,
): Promise<MemoryStore> {
  const store = new MemoryStore({ maxEntries: 10 });
  const signedIn = Date.now() - 60_000;
  await store.putSession(testSession({
    sessionId: "s-alice",
    cid: 1,
    lastAuthAt: signedIn,
    resumable,
    ...(run === undefined ? {} : { openvpnRun: run }),
  }));
  await store.putSession(testSession({ sessionId: "s-gone", cid: 9, lastAuthAt: signedIn }));
  return store;
}

async function reconciled(store: MemoryStore): Promise<void> {
  await pollUntil(
    "the link-up's reconcile to end the marker",
    async () => (await store.getSession("s-gone")) === undefined || undefined,
    5000,
    10,
  );
}

const kills = (server: FakeManagementServer) =>
  server.received.filter((line) => line.startsWith("client-kill "));

for (const resumable of [false, true]) {
  Deno.test(`OpenVPN restarted as a new process while the link was down: a ${resumable ? "resumable" : "certificate-only"} session bound to cid 1 of the old run is not taken for Bob's cid 1, and ending it kills nobody`, async () => {
    // Alice signed in under pid 100; OpenVPN restarted (pid 200) and gave cid 1 to Bob before
    // the bridge linked again.
    const store = await storeOfAlice(runOf(100), resumable);
    await withLink(async (server, _records, { sessionEnd }) => {
      await reconciled(store);
      const alice = await store.getSession("s-alice");
      if (resumable) {
        // Unbound, kept for her client to come back with its token.
        assertEquals(alice?.cid, undefined);
        assert(alice && !("openvpnRun" in alice));
      } else {
        assertEquals(alice, undefined);
      }
      assertEquals(await boundCids(store), []);
      // A back-channel logout (an admin's revoke, ...) of alice afterwards reaches nobody.
      // (A kill would have been answered before endAll returns.)
      await sessionEnd.endAll(["s-alice"], "backchannel-logout");
      assertEquals(kills(server), []);
      assertEquals(await store.getSession("s-alice"), undefined);
    }, { store, pid: 200, clients: new Map([[1, "bob"]]) });
  });
}

Deno.test("a session bound in the run OpenVPN still runs keeps its cid at link-up, and ending it kills its client", async () => {
  const store = await storeOfAlice(runOf(200), false);
  await withLink(async (server, _records, { sessionEnd }) => {
    await reconciled(store);
    assertEquals((await store.getSession("s-alice"))?.cid, 1);
    assertEquals((await store.getSession("s-alice"))?.openvpnRun, runOf(200));
    await sessionEnd.endAll(["s-alice"], "admin-revoke");
    assertEquals(kills(server), [
      'client-kill 1 "RESTART,An administrator ended your VPN session"',
    ]);
  }, { store, pid: 200, clients: new Map([[1, "alice"]]) });
});

Deno.test("a session stored without its OpenVPN run (by an older version) is judged by its cid alone at link-up", async () => {
  const store = await storeOfAlice(undefined, false);
  await withLink(async () => {
    await reconciled(store);
    // Cid 1 is in the list: kept, as before runs were recorded.
    assertEquals((await store.getSession("s-alice"))?.cid, 1);
  }, { store, pid: 200, clients: new Map([[1, "bob"]]) });
});

Deno.test("a client list cut at the reply limit still ends the bindings of an earlier OpenVPN run", async () => {
  const store = await storeOfAlice(runOf(100), false);
  await withLink(async (_server, records) => {
    await pollUntil(
      "alice's binding of the old run to end",
      async () => (await store.getSession("s-alice")) === undefined || undefined,
      5000,
      10,
    );
    // The marker has no run: left alone, as the list could not say whether cid 9 is there.
    assertEquals((await store.getSession("s-gone"))?.cid, 9);
    assert(
      warnings(records).some((record) => record.message.join("").includes("client list was cut")),
    );
  }, {
    store,
    pid: 200,
    clients: new Map([[1, "bob"], [2, "carol"], [3, "dave"]]),
    limits: { maxReplyChars: 450 },
  });
});

Deno.test("OpenVPN restarting in place (SIGHUP) ends the bindings of the run before, though the list has their cids again", async () => {
  const store = await storeOfAlice(runOf(4242), false);
  await withLink(async (server) => {
    await reconciled(store);
    assertEquals((await store.getSession("s-alice"))?.cid, 1);
    // SIGHUP: a new client got cid 1 before the bridge read the list again.
    server.clients.set(1, "bob");
    server.sendLines([`>STATE:${STARTED_AT + 60},CONNECTED,SUCCESS,10.201.0.1,,,10.200.0.1,1194`]);
    await pollUntil(
      "alice's binding of the run before to end",
      async () => (await store.getSession("s-alice")) === undefined || undefined,
      5000,
      10,
    );
  }, { store, clients: new Map([[1, "alice"]]) });
});

Deno.test("OpenVPN stopping (EXITING, then the link closes) is not asked for its client list, and the bindings of its run end without a warning", async () => {
  const store = await storeOfAlice(runOf(4242), false);
  await withLink(async (server, records, { events }) => {
    await reconciled(store);
    assertEquals((await store.getSession("s-alice"))?.cid, 1);
    // What OpenVPN 2.6 sends on SIGTERM before it closes the link; it answers nothing more.
    server.respond = () => "none";
    server.sendLines([`>STATE:${STARTED_AT + 60},EXITING,SIGTERM,,,,,`]);
    await pollUntil(
      "the link to take in the EXITING state",
      () => Promise.resolve(events.openvpnRun?.endsWith(":EXITING") || undefined),
      5000,
      10,
    );
    await server.closeClient();
    server.respond = undefined;
    await pollUntil(
      "alice's binding of the stopped run to end",
      async () => (await store.getSession("s-alice")) === undefined || undefined,
      5000,
      10,
    );
    const listWarnings = warnings(records)
      .map((record) => record.message.join(""))
      .filter((message) => message.includes("client list"));
    assertEquals(listWarnings, []);
    // Once at link-up; the link that comes back asks again, on a connection of its own.
    const askedOnFirstLink = server.transcript.filter((entry) =>
      entry.connection === 1 && entry.line === "status 3"
    );
    assertEquals(askedOnFirstLink.length, 1);
  }, { store, clients: new Map([[1, "alice"]]) });
});

Deno.test("a client that connected while no bridge listened (listed without an address) is restarted at link-up, with one log line", async () => {
  const server = await FakeManagementServer.start();
  // Cid 1 admitted before the bridge went away; cid 2 connected while it was away.
  server.clients.set(1, "client-1").set(2, "client-2");
  server.unaddressed.add(2);
  const { link } = linkAndEvents(server);
  const logs = captureLogs();
  link.start();
  try {
    await server.waitForLine("status 3");
    const kill = await server.waitForLine((line) => line.startsWith("client-kill "));
    assertEquals(kill, 'client-kill 2 "RESTART"');
    await pollUntil(
      "the restart's log line",
      () => logs.lines.find((line) => line.text.startsWith("Restarted 1 client(s)")),
      2000,
      10,
    );
    assertEquals(server.received.filter((line) => line.startsWith("client-kill ")), [kill]);
  } finally {
    logs.stop();
    await link.stop();
    await server.stop();
  }
});
