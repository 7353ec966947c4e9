/**
 * The `established` line of a client this bridge admitted names its user from what the admission
 * knew, with no store call (client_events.ts, tunnel_audit.ts): after an OpenVPN restart with
 * auth-gen-token every client reconnects with its token, and each ESTABLISHED read its session
 * back. Nor does a token CONNECT that moves the session to a new cid leave the old tunnel's line
 * without a user.
 */
import { assertEquals } from "../../support/assert.ts";
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

/** `store`, with the name of every call made to it recorded in `calls`. */
function countedStore(store: SessionStore): { store: SessionStore; calls: string[] } {
  const calls: string[] = [];
  const counted = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return value.apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

/** ClientEvents over a counted memory store, in OpenVPN's run RUN. */
async function setUp() {
  const clock = new FakeClock(EVENTS_T0);
  const { store, calls } = countedStore(new MemoryStore({ maxEntries: 10, now: clock.now }));
  const t = testClientEvents({ store, clock });
  await t.events.openvpnRunIs(RUN);
  return { ...t, store, calls };
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
