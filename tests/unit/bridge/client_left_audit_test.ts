/**
 * The `client_left` audit line of a DISCONNECT (client_events.ts): one per session of its run
 * (or with no run recorded) the DISCONNECT unbound or ended, written once the store took it, so a
 * DISCONNECT tried again after the store failed writes it once, with what the DISCONNECT told;
 * and one for a client on the bypass list, which has no session, also when it connected before
 * the bridge started.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import {
  EVENTS_T0,
  settle,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

const TRAFFIC = { time_duration: "3600", bytes_received: "123456789", bytes_sent: "987654321" };

Deno.test("a DISCONNECT whose unbinding failed once writes its client_left line once, when tried again", async () => {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events } = testClientEvents({ store, clock });
  await store.putSession(testSession({ resumable: true }));
  const update = store.updateSession.bind(store);
  store.updateSession = () => Promise.reject(new StoreUnavailableError("test"));
  const capture = captureLogs();
  try {
    await events.onDisconnect(4, testEnv(TRAFFIC));
    store.updateSession = update;
    clock.advance(60_000);
    await settle();
    assertEquals((await store.getSession("s-1"))?.cid, undefined);
    const left = capture.lines.filter((line) => line.category === "audit");
    assertEquals(left.map(({ properties }) => properties["event"]), ["client_left"]);
    const { username, cid, durationSec, bytesReceived, bytesSent } = left[0]!.properties;
    assertEquals(
      { username, cid, durationSec, bytesReceived, bytesSent },
      {
        username: "alice",
        cid: 4,
        durationSec: 3600,
        bytesReceived: 123456789,
        bytesSent: 987654321,
      },
    );
  } finally {
    capture.stop();
    events.close();
  }
});

Deno.test("a DISCONNECT that also ends a binding of an earlier run writes client_left only for its own run's", async () => {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events } = testClientEvents({ store, clock });
  await events.openvpnRunIs("run-1");
  // Bob's binding on cid 4 outlived OpenVPN's restart (its link-up clean-up did not run yet).
  await store.putSession(
    testSession({
      sessionId: "s-bob",
      username: "bob",
      commonName: "bob",
      openvpnRun: "run-1",
      resumable: true,
    }),
  );
  clock.advance(1000);
  await events.openvpnRunIs("run-2");
  await store.putSession(
    testSession({ openvpnRun: "run-2", resumable: true, lastAuthAt: EVENTS_T0 + 1000 }),
  );
  const capture = captureLogs();
  try {
    await events.onDisconnect(4, testEnv(TRAFFIC));
    await settle();
    assertEquals((await store.getSession("s-bob"))?.cid, undefined);
    const left = capture.lines.filter((line) => line.category === "audit");
    assertEquals(
      left.map(({ properties }) => [properties["event"], properties["username"]]),
      [["client_left", "alice"]],
    );
  } finally {
    capture.stop();
    events.close();
  }
});

/** The audit lines of gw-1, a common name on the bypass list, through `run`: event and who. */
async function bypassedLines(
  run: (events: ReturnType<typeof testClientEvents>["events"]) => Promise<void>,
): Promise<Record<string, unknown>[]> {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events } = testClientEvents({ store, clock, bypassCommonNames: [/^gw-1$/] });
  const capture = captureLogs();
  try {
    await events.openvpnRunIs("run-1");
    await run(events);
    await settle();
    return capture.lines.filter((line) => line.category === "audit").map(({ properties }) => {
      const { event, username, subject, sessionId, cid, commonName, reason, durationSec } =
        properties;
      return { event, username, subject, sessionId, cid, commonName, reason, durationSec };
    });
  } finally {
    capture.stop();
    events.close();
  }
}

const GATEWAY = { common_name: "gw-1", session_id: "" };
const GATEWAY_LINE = { username: "", subject: "", sessionId: null, cid: 2, commonName: "gw-1" };

Deno.test("a bypassed client's DISCONNECT writes client_left, with no user, reason null", async () => {
  assertEquals(
    await bypassedLines(async (events) => {
      await events.onConnect(2, 1, testEnv(GATEWAY));
      await events.onEstablished(2, testEnv(GATEWAY));
      await events.onDisconnect(2, testEnv({ ...GATEWAY, ...TRAFFIC }));
    }),
    [
      { event: "admitted", ...GATEWAY_LINE, reason: "bypass", durationSec: null },
      { event: "established", ...GATEWAY_LINE, reason: null, durationSec: null },
      { event: "client_left", ...GATEWAY_LINE, reason: null, durationSec: 3600 },
    ],
  );
});

Deno.test("a bypassed client admitted before the bridge restarted has client_left after its ESTABLISHED", async () => {
  assertEquals(
    await bypassedLines(async (events) => {
      await events.onEstablished(2, testEnv(GATEWAY));
      await events.onDisconnect(2, testEnv({ ...GATEWAY, ...TRAFFIC }));
    }),
    [
      { event: "established", ...GATEWAY_LINE, reason: null, durationSec: null },
      { event: "client_left", ...GATEWAY_LINE, reason: null, durationSec: 3600 },
    ],
  );
});

Deno.test("a bypassed client connected before the bridge restarted has client_left at its DISCONNECT alone", async () => {
  // A tunnel that stays up across the restart sends no ESTABLISHED again.
  assertEquals(
    await bypassedLines((events) => events.onDisconnect(2, testEnv({ ...GATEWAY, ...TRAFFIC }))),
    [{ event: "client_left", ...GATEWAY_LINE, reason: null, durationSec: 3600 }],
  );
});

Deno.test("a DISCONNECT of a common name not on the bypass list, which nothing named, has no client_left", async () => {
  assertEquals(
    await bypassedLines((events) =>
      events.onDisconnect(2, testEnv({ ...GATEWAY, common_name: "gw-2", ...TRAFFIC }))
    ),
    [],
  );
});

/**
 * A DISCONNECT with no `time_duration` (an empty ENV, as OpenVPN sends for a client in its
 * sign-in or refused): no tunnel of the client's came up, so none ended (README, Audit log).
 */
const NO_TUNNEL = new Map<string, string>();

Deno.test("an admitted client whose DISCONNECT has no time_duration has no client_left: its session is unbound all the same", async () => {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events } = testClientEvents({ store, clock });
  await store.putSession(testSession({ resumable: true }));
  const capture = captureLogs();
  try {
    await events.onDisconnect(4, NO_TUNNEL);
    await settle();
    assertEquals((await store.getSession("s-1"))?.cid, undefined);
    assertEquals(capture.lines.filter((line) => line.category === "audit"), []);
  } finally {
    capture.stop();
    events.close();
  }
});

Deno.test("a bypassed client admitted at its CONNECT whose DISCONNECT has no time_duration has no client_left", async () => {
  assertEquals(
    await bypassedLines(async (events) => {
      await events.onConnect(2, 1, testEnv(GATEWAY));
      await events.onDisconnect(2, NO_TUNNEL);
    }),
    [{ event: "admitted", ...GATEWAY_LINE, reason: "bypass", durationSec: null }],
  );
});
