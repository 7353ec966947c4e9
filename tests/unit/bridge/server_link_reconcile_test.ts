/**
 * The check of which clients are gone after a link-up (ServerLink#reconcile) is the only thing
 * that ends the sessions of clients that left while the link was down: one the store failed is
 * tried again (1 s, doubling to 60 s) until it works, with the link-up time as its cut-off, and
 * dropped when the link goes down or stops, leaving no timer. The link runs over a stand-in
 * connection whose `status 3` lists cids 1 and 2, a real ClientEvents, and one fake clock.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { scriptedConnection } from "../../support/scripted_connection.ts";
import { ServerLink } from "../../../src/bridge/server_link.ts";
import { DisconnectRetries } from "../../../src/bridge/disconnect_retries.ts";
import type { ConnectionEventHandler } from "../../../src/management/connection.ts";
import type { Reply } from "../../../src/management/events.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  switchableStore,
  testClientEvents,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

const T0 = 1_800_000_000_000;
/** The run of OpenVPN the link comes up in, as the sessions recorded it. */
const STATE_1 = { time: T0 / 1000 - 3600, state: "CONNECTED" };
const RUN_1 = `4242@${STATE_1.time}:CONNECTED`;

/** OpenVPN restarted in place (SIGHUP): the link stays up and tells the new run. */
const RESTARTED = {
  type: "state",
  time: T0 / 1000,
  state: "CONNECTED",
  description: "SUCCESS",
  details: [],
} as const;

/** Lets what the last event or timer started (store calls, a whole check) run to its end. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** OpenVPN's client list: cids 1 and 2 (cid 3's client left while the link was down). */
const STATUS_3: Reply = {
  ticket: 1,
  type: "lines",
  lines: [
    "HEADER\tCLIENT_LIST\tCommon Name\tClient ID",
    "CLIENT_LIST\tclient-1\t1",
    "CLIENT_LIST\tclient-2\t2",
  ],
  truncated: false,
};

/**
 * Sessions on cids 1, 2 and 3 of RUN_1, signed in a minute before the link comes up; the store
 * down.
 */
async function setUp() {
  const memory = new MemoryStore({ maxEntries: 10, now: () => T0 });
  for (const cid of [1, 2, 3]) {
    await memory.putSession(testSession({
      sessionId: `s-${cid}`,
      cid,
      openvpnRun: RUN_1,
      lastAuthAt: T0 - 60_000,
    }));
  }
  const { store, state } = switchableStore(memory);
  state.down = true;
  let listings = 0;
  const counted = new Proxy(store, {
    get(target, name) {
      if (name === "listBindings") listings++;
      return Reflect.get(target, name, target);
    },
  });
  const { connection, emit } = scriptedConnection((command) =>
    command.text === "status 3" ? STATUS_3 : { ticket: 2, type: "success", message: "ok" }
  );
  const clock = new FakeClock(T0);
  const { events } = testClientEvents({ store: counted, clock });
  const link = new ServerLink(connection, events, getLogger("clients"), clock);
  link.start();
  const boundCids = async () => (await memory.listBindings("default")).map(({ cid }) => cid).sort();
  /** Lets the link-up's check (and each try) run to its end. */
  const linkUp = async () => {
    emit({
      type: "connected",
      managementVersion: 5,
      openvpnPid: 4242,
      openvpnStates: [STATE_1],
    });
    await settle();
  };
  return {
    memory,
    state,
    clock,
    link,
    linkUp,
    boundCids,
    listings: () => listings,
    deliver: (event: Parameters<ConnectionEventHandler>[0]) => emit(event),
  };
}

Deno.test("a link-up's check the store failed is tried again at 1 s, 2 s, ... until it works, leaving the bindings made since alone", async () => {
  const logs = captureLogs();
  const t = await setUp();
  try {
    await t.linkUp();
    assertEquals(await t.boundCids(), [1, 2, 3]);
    assertEquals(t.clock.pendingTimers, 1, "a try again armed");
    t.clock.advance(1_000);
    await settle();
    // A client that connected since the link came up got cid 7 (not in the list read then).
    await t.memory.putSession(testSession({
      sessionId: "s-7",
      cid: 7,
      openvpnRun: RUN_1,
      lastAuthAt: T0 + 1_000,
    }));
    t.state.down = false;
    t.clock.advance(2_000);
    await settle();
    assertEquals(await t.boundCids(), [1, 2, 7]);
    assertEquals(t.clock.delays, [1_000, 2_000]);
    assertEquals(t.clock.pendingTimers, 0, "done: nothing left armed");
    const about = logs.lines.filter((line) => line.text.includes("clients that are gone"));
    assertEquals(about.map((line) => line.level), ["warning", "debug", "info"]);
    assert(about[2]!.text.includes("after 2 failed tries"), about[2]!.text);
  } finally {
    await t.link.stop();
    logs.stop();
  }
});

/** The delays DisconnectRetries waits through `failures` failures in a row. */
async function disconnectRetryDelays(failures: number): Promise<number[]> {
  const clock = new FakeClock();
  const retries = new DisconnectRetries(() => Promise.reject(new Error("down")), clock, () => {});
  retries.add({ cid: 1, at: clock.now() });
  // Each pass arms the next try: a regression that stops trying again arms nothing, and an
  // unbounded loop here spun for ever instead of failing.
  for (let pass = 1; clock.delays.length < failures; pass++) {
    assert(
      pass <= 2 * failures,
      `DisconnectRetries stopped trying again after ${clock.delays.length} of ${failures} tries`,
    );
    clock.advance(clock.delays.at(-1)!);
    await settle();
  }
  retries.close();
  return clock.delays;
}

Deno.test("a link-up's check is tried again on DisconnectRetries' schedule while the store stays down: 1 s doubling to 60 s", async () => {
  const t = await setUp();
  try {
    await t.linkUp();
    for (let tries = 2; tries <= 9; tries++) {
      t.clock.advance(t.clock.delays.at(-1) ?? 60_000);
      await settle();
    }
    assertEquals(t.clock.delays, await disconnectRetryDelays(9));
    assertEquals(t.clock.delays.slice(-3), [60_000, 60_000, 60_000]);
    assertEquals(t.clock.pendingTimers, 1, "still armed: the link is up in the same run");
  } finally {
    await t.link.stop();
  }
});

/** The store is back, a minute passes: no check was tried again, cid 3 is still bound. */
async function assertNotTriedAgain(t: Awaited<ReturnType<typeof setUp>>): Promise<void> {
  t.state.down = false;
  const listings = t.listings();
  t.clock.advance(60_000);
  await settle();
  assertEquals(t.listings(), listings);
  assertEquals(await t.boundCids(), [1, 2, 3]);
}

Deno.test("a link-up's check the store failed is not tried again once the link went down", async () => {
  const t = await setUp();
  try {
    await t.linkUp();
    assertEquals(t.clock.pendingTimers, 1, "a try again armed while the link was up");
    t.deliver({ type: "disconnected", reason: "closed by OpenVPN" });
    assertEquals(t.clock.pendingTimers, 0, "disarmed with the link");
    // Left for the next link-up's own check, with the client list it reads then.
    await assertNotTriedAgain(t);
  } finally {
    await t.link.stop();
  }
});

Deno.test("a link-up's check the store failed is not tried again once the link stopped, and leaves no timer", async () => {
  const t = await setUp();
  await t.linkUp();
  t.clock.advance(1_000);
  await settle();
  assertEquals(t.clock.pendingTimers, 1, "the second try again armed");
  // OpenVPN restarts as the link stops: the new run's check, begun once stop() was called, fails
  // (the store is still down) and arms nothing either.
  t.deliver(RESTARTED);
  await t.link.stop();
  assertEquals(t.listings(), 3, "the link-up's, its try again, and the new run's");
  assertEquals(t.clock.pendingTimers, 0);
  await assertNotTriedAgain(t);
});

Deno.test("OpenVPN restarting in place replaces a check still to be tried again with its own", async () => {
  const logs = captureLogs();
  const t = await setUp();
  try {
    await t.linkUp();
    assertEquals(t.clock.pendingTimers, 1);
    // SIGHUP: a new run, whose check finds the store down as well.
    t.deliver(RESTARTED);
    await settle();
    assertEquals(t.clock.pendingTimers, 1, "one check armed, the new run's");
    assertEquals(t.clock.delays, [1_000, 1_000]);
    t.state.down = false;
    t.clock.advance(1_000);
    await settle();
    // Every client of the run before is gone.
    assertEquals(await t.boundCids(), []);
    assertEquals(t.clock.pendingTimers, 0);
  } finally {
    await t.link.stop();
    logs.stop();
  }
});

Deno.test("a try again that falls due as OpenVPN restarts is dropped: it would judge the new run by the old run's client list", async () => {
  const logs = captureLogs();
  const t = await setUp();
  try {
    await t.linkUp();
    assertEquals(t.clock.pendingTimers, 1);
    t.state.down = false;
    const listings = t.listings();
    // The state event tells the new run at once; its own check starts a turn later, after
    // the try again has come due.
    t.deliver(RESTARTED);
    t.clock.advance(1_000);
    await settle();
    assertEquals(t.listings(), listings + 1, "the new run's check alone");
    assertEquals(await t.boundCids(), []);
    assert(
      logs.lines.some((line) => line.level === "debug" && line.text.includes("OpenVPN restarted")),
    );
  } finally {
    await t.link.stop();
    logs.stop();
  }
});
