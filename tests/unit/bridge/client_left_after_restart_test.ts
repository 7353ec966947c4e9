/**
 * `client_left` of a tunnel whose DISCONNECT finds no session bound to its cid, when the bridge
 * process that admitted it has restarted since (tunnel_audit.ts, client_events.ts): its client
 * came back with its token on a new cid before the bridge restarted (the old tunnel stays until
 * OpenVPN closes it: duplicate-cn, a keepalive timeout), or an administrator revoked its session
 * and the kill brought the DISCONNECT. Found by tunnel_audit_model_test.ts: its seeds 10 (the
 * new tunnel left before the old one) and 19 (the revoke) failed before these were fixed.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
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
/** Ten minutes up, and some traffic. */
const TRAFFIC = { time_duration: "600", bytes_received: "1000", bytes_sent: "2000" };

/**
 * Alice signs in on cid 4 of RUN in a first bridge process; `beforeRestart` runs there, and the
 * process ends. A second one over the same store comes up in RUN ten minutes after her sign-in,
 * `afterRestart` runs there, and then cid 4's DISCONNECT comes (its ENV with `leftEnv`). Resolves the `client_left` lines
 * of cid 4, with who they name.
 */
async function cid4Left(
  beforeRestart: (first: ReturnType<typeof testClientEvents>) => Promise<void>,
  afterRestart: (
    second: ReturnType<typeof testClientEvents>,
    store: MemoryStore,
  ) => Promise<void> = async () => {},
  leftEnv: Record<string, string> = {},
): Promise<Record<string, unknown>[]> {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const first = testClientEvents({ store, clock });
  await first.events.openvpnRunIs(RUN);
  // A 2.6 client: resumable from its sign-in on.
  const login = testPendingLogin({ openvpnRun: RUN });
  const signIn = await first.admission.admitLogin(testFinishedLogin(login), first.commander);
  assertEquals(signIn.kind, "admitted");
  await beforeRestart(first);
  first.events.close();
  clock.advance(600_000);
  const second = testClientEvents({ store, clock });
  const capture = captureLogs();
  try {
    await second.events.openvpnRunIs(RUN);
    await afterRestart(second, store);
    await second.events.onDisconnect(4, testEnv({ ...TRAFFIC, ...leftEnv }));
    await settle();
    return capture.lines.filter(({ properties }) =>
      properties["event"] === "client_left" && properties["cid"] === 4
    ).map(({ properties: { username, sessionId, durationSec } }) => ({
      username,
      sessionId,
      durationSec,
    }));
  } finally {
    capture.stop();
    second.events.close();
  }
}

const ALICE_LEFT = { username: "alice", sessionId: "s-1", durationSec: 600 };

/** Alice's client comes back with its token on `cid`: her session moves there. */
async function reconnects(t: ReturnType<typeof testClientEvents>, cid: number): Promise<void> {
  await t.events.onConnect(cid, 1, testEnv({ session_state: "Authenticated", IV_VER: "2.6.14" }));
  assertEquals(t.commander.commands.at(-1)?.kind, "auth", "resumed");
}

Deno.test("a token CONNECT's move before a bridge restart leaves the old tunnel's later DISCONNECT its client_left naming the user", async () => {
  assertEquals(await cid4Left((first) => reconnects(first, 5)), [ALICE_LEFT]);
});

Deno.test("the old tunnel's client_left names the user also when her new tunnel left before it", async () => {
  // Her session is unbound then, waiting for her token again.
  const lines = await cid4Left(
    (first) => reconnects(first, 5),
    (second) => second.events.onDisconnect(5, testEnv({ ...TRAFFIC, time_duration: "60" })),
  );
  assertEquals(lines, [ALICE_LEFT]);
});

Deno.test("the old tunnel's DISCONNECT names nobody from a session signed in under its session_id after it was let in", async () => {
  // Her session ended, and the device's token signed in anew (as Bob) on cid 6, five minutes
  // after her tunnel came up: a sign-in within auth_pending_timeout of its CONNECT it is not.
  const bob = testSession({
    username: "bob",
    subject: "u-2",
    cid: 6,
    openvpnRun: RUN,
    resumable: true,
    createdAt: EVENTS_T0 + 300_000,
    lastAuthAt: EVENTS_T0 + 300_000,
  });
  const lines = await cid4Left(
    (first) => reconnects(first, 5),
    (_second, store) => store.putSession(bob),
  );
  assertEquals(lines, []);
});

Deno.test("a client killed after a bridge restart because an administrator revoked its session has client_left naming the user", async () => {
  const lines = await cid4Left(async () => {}, async (second) => {
    const report = await second.sessionEnd.endAll(["s-1"], "admin-revoke");
    assertEquals(report.ended, 1);
    assertEquals(second.commander.commands.map(({ kind, cid }) => [kind, cid]), [["kill", 4]]);
  });
  assertEquals(lines, [ALICE_LEFT]);
});

for (const sessionState of ["Invalid", "SomeLaterState"]) {
  Deno.test(`the old tunnel's DISCONNECT with session_state ${sessionState} names nobody by its session_id`, async () => {
    // An Invalid token's session_id may be the client's choice (CVE-2026-13122): a tunnel of
    // the same certificate name whose last renegotiation presented a forged token naming s-1
    // is not Alice's. A state OpenVPN 2.6 does not send says nothing of who chose it.
    const lines = await cid4Left((first) => reconnects(first, 5), undefined, {
      session_state: sessionState,
    });
    assertEquals(lines, []);
  });
}

Deno.test("the old tunnel's DISCONNECT after a renegotiation on its token (session_state Authenticated) names the user", async () => {
  const lines = await cid4Left((first) => reconnects(first, 5), undefined, {
    session_state: "Authenticated",
  });
  assertEquals(lines, [ALICE_LEFT]);
});
