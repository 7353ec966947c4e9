/**
 * The `established` line of a client this bridge admitted names its user from what the admission
 * knew, with no store call (client_events.ts, tunnel_audit.ts): after an OpenVPN restart with
 * auth-gen-token every client reconnects with its token, and each ESTABLISHED read its session
 * back. Nor does a token CONNECT that moves the session to a new cid leave the old tunnel's line
 * without a user, nor its `client_left` line when this process did not admit the old tunnel.
 */
import { assertEquals } from "../../support/assert.ts";
import { MAX_UNNAMED_DEPARTURES } from "../../../src/bridge/tunnel_audit.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { SessionStore } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  settle,
  testClientEvents,
  testEnv,
  testFinishedLogin,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";

const RUN = "4242@1800000000:CONNECTED";

/**
 * `store`, with the name of every call made to it recorded in `calls`; `holdNext(name)` makes the
 * next call of that name wait until the function it returns is called.
 */
function countedStore(store: SessionStore) {
  const calls: string[] = [];
  let held: { name: string; until: Promise<void> } | undefined;
  const counted = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        if (held?.name !== name) return value.apply(target, args);
        const { until } = held;
        held = undefined;
        return until.then(() => value.apply(target, args));
      };
    },
  });
  const holdNext = (name: keyof SessionStore): () => void => {
    const { promise, resolve } = Promise.withResolvers<void>();
    held = { name, until: promise };
    return resolve;
  };
  return { store: counted, calls, holdNext };
}

/** ClientEvents over a counted memory store of `maxEntries`, in OpenVPN's run RUN. */
async function setUp(maxEntries = 10) {
  const clock = new FakeClock(EVENTS_T0);
  const { store, calls, holdNext } = countedStore(
    new MemoryStore({ maxEntries, now: clock.now }),
  );
  const t = testClientEvents({ store, clock });
  await t.events.openvpnRunIs(RUN);
  return { ...t, store, calls, holdNext };
}

/** The audit lines `run` writes: event, who, and what the tunnel told. */
async function auditLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const capture = captureLogs();
  try {
    await run();
    await settle();
    return capture.lines.filter((line) => line.category === "audit").map(({ properties }) => {
      const { event, username, subject, sessionId, cid, commonName, clientIp, virtualIp } =
        properties;
      return { event, username, subject, sessionId, cid, commonName, clientIp, virtualIp };
    });
  } finally {
    capture.stop();
  }
}

const ESTABLISHED = { untrusted_ip: "198.51.100.7", ifconfig_pool_remote_ip: "10.8.0.23" };

const ALICE = {
  username: "alice",
  subject: "u-1",
  sessionId: "s-1",
  commonName: "alice",
  clientIp: "198.51.100.7",
  virtualIp: "10.8.0.23",
};

Deno.test("ESTABLISHED after a sign-in's client-auth names the user with no store call", async () => {
  const t = await setUp();
  try {
    const login = testPendingLogin({ openvpnRun: RUN });
    assertEquals(
      (await t.admission.admitLogin(testFinishedLogin(login), t.commander)).kind,
      "admitted",
    );
    t.calls.length = 0;
    const lines = await auditLines(() => t.events.onEstablished(4, testEnv(ESTABLISHED)));
    assertEquals(lines, [{ event: "established", cid: 4, ...ALICE }]);
    assertEquals(t.calls, []);
  } finally {
    t.events.close();
  }
});

Deno.test("ESTABLISHED after a reconnect with the token names the user with no store call", async () => {
  const t = await setUp();
  try {
    await t.store.putSession(testSession({ cid: undefined, resumable: true }));
    const token = { session_state: "Authenticated", untrusted_ip: "198.51.100.7" };
    await t.events.onConnect(5, 1, testEnv(token));
    assertEquals(t.commander.commands.map(({ kind, cid }) => [kind, cid]), [["auth", 5]]);
    t.calls.length = 0;
    const lines = await auditLines(() =>
      t.events.onEstablished(5, testEnv({ ...token, ...ESTABLISHED }))
    );
    assertEquals(lines, [{ event: "established", cid: 5, ...ALICE }]);
    assertEquals(t.calls, []);
  } finally {
    t.events.close();
  }
});

Deno.test("the old tunnel's ESTABLISHED after a token CONNECT moved its session names the user, and its DISCONNECT has client_left", async () => {
  const t = await setUp();
  try {
    const login = testPendingLogin({ openvpnRun: RUN });
    await t.admission.admitLogin(testFinishedLogin(login), t.commander);
    // The client reconnected on cid 5 before cid 4's ESTABLISHED was handled.
    await t.events.onConnect(5, 1, testEnv({ session_state: "Authenticated" }));
    assertEquals((await t.store.getSession("s-1"))?.cid, 5);
    const lines = await auditLines(async () => {
      await t.events.onEstablished(4, testEnv(ESTABLISHED));
      await t.events.onDisconnect(4, testEnv({ time_duration: "60" }));
    });
    assertEquals(lines.map(({ event, cid, username }) => [event, cid, username]), [
      ["established", 4, "alice"],
      ["client_left", 4, "alice"],
    ]);
  } finally {
    t.events.close();
  }
});

/**
 * The `client_left` lines of the old tunnel's DISCONNECT (cid 4, an hour, some traffic) after
 * alice, whose session was bound to it in OpenVPN's run `boundIn` by a bridge process before this
 * one, came back with her token on cid 5: after that CONNECT was answered, or `whileMoving`, while
 * its write of the session's move to cid 5 waits (a slow store, a refresh at the IdP before it).
 * `othersLeaving`: clients of sessions bound by that process too (cids from 100), which leave
 * after cid 4 and before the move is written: their lines too.
 */
async function oldTunnelLeftAfterRestart(
  boundIn: string,
  { whileMoving = false, othersLeaving = 0 } = {},
): Promise<Record<string, unknown>[]> {
  const t = await setUp(othersLeaving + 10);
  const capture = captureLogs();
  try {
    const bound = { openvpnRun: boundIn, clientIp: ALICE.clientIp, resumable: true };
    await t.store.putSession(testSession(bound));
    const release = whileMoving ? t.holdNext("updateSession") : () => {};
    const connect = t.events.onConnect(5, 1, testEnv({ session_state: "Authenticated" }));
    if (!whileMoving) await connect;
    await settle();
    const traffic = { time_duration: "3600", bytes_received: "1000", bytes_sent: "2000" };
    const disconnect = t.events.onDisconnect(4, testEnv(traffic));
    await settle();
    for (let cid = 100; cid < 100 + othersLeaving; cid++) {
      await t.store.putSession(testSession({ ...bound, sessionId: `s-${cid}`, cid }));
      await t.events.onDisconnect(cid, testEnv(traffic));
    }
    release();
    await connect;
    await disconnect;
    await settle();
    assertEquals((await t.store.getSession("s-1"))?.cid, 5, "the new tunnel keeps the session");
    return capture.lines.filter((line) => line.properties.event === "client_left").map(
      ({ properties }) => {
        const { event, username, sessionId, cid, clientIp, durationSec, bytesReceived } =
          properties;
        return { event, username, sessionId, cid, clientIp, durationSec, bytesReceived };
      },
    );
  } finally {
    capture.stop();
    t.events.close();
  }
}

Deno.test("after a bridge restart, a token CONNECT that moves the session leaves the old tunnel's client_left naming the user", async () => {
  assertEquals(await oldTunnelLeftAfterRestart(RUN), [{
    event: "client_left",
    username: "alice",
    sessionId: "s-1",
    cid: 4,
    clientIp: ALICE.clientIp,
    durationSec: 3600,
    bytesReceived: 1000,
  }]);
});

Deno.test("after a bridge restart, the old tunnel's DISCONNECT while a token CONNECT moves its session still has client_left naming the user", async () => {
  // Its DISCONNECT finds no name and the session already being moved; the move names the tunnel.
  assertEquals(await oldTunnelLeftAfterRestart(RUN, { whileMoving: true }), [{
    event: "client_left",
    username: "alice",
    sessionId: "s-1",
    cid: 4,
    clientIp: ALICE.clientIp,
    durationSec: 3600,
    bytesReceived: 1000,
  }]);
});

Deno.test("after a bridge restart, the old tunnel's DISCONNECT waiting for a token CONNECT's move is not pushed out by as many departures whose lines were written", async () => {
  // Each of them, unnamed too, had its session's line: none waits for an adopt, nor takes the
  // place of one that does (MAX_UNNAMED_DEPARTURES).
  const lines = await oldTunnelLeftAfterRestart(RUN, {
    whileMoving: true,
    othersLeaving: MAX_UNNAMED_DEPARTURES,
  });
  assertEquals(lines.length, 1 + MAX_UNNAMED_DEPARTURES);
  assertEquals(lines.filter(({ cid }) => cid === 4), [{
    event: "client_left",
    username: "alice",
    sessionId: "s-1",
    cid: 4,
    clientIp: ALICE.clientIp,
    durationSec: 3600,
    bytesReceived: 1000,
  }]);
});

Deno.test("a token CONNECT that moves a session bound before OpenVPN restarted names nobody on the old cid", async () => {
  // Cid 4 of the earlier run went with it: in this run it is another client, or nobody.
  assertEquals(await oldTunnelLeftAfterRestart("4241@1799999000:CONNECTED"), []);
});

Deno.test("ESTABLISHED names nobody from an admission of the run before OpenVPN restarted", async () => {
  const t = await setUp();
  try {
    const login = testPendingLogin({ openvpnRun: RUN });
    await t.admission.admitLogin(testFinishedLogin(login), t.commander);
    await t.events.openvpnRunIs("4243@1800000100:CONNECTED");
    const lines = await auditLines(() => t.events.onEstablished(4, testEnv(ESTABLISHED)));
    assertEquals(lines.map(({ event, username, sessionId }) => [event, username, sessionId]), [
      ["established", "", null],
    ]);
  } finally {
    t.events.close();
  }
});
