/**
 * A REAUTH whose token OpenVPN refused (session_state Expired, ExpiredEmptyUser or Invalid) ends
 * the session of that very client: OpenVPN never takes that token again, so nobody can resume
 * it. Kept, it counted in sessions.max_per_user and kept its refresh token until its lifetime
 * ran out; with deny_new the user's sign-in on the same device was refused while OpenVPN still
 * held the denied instance (measured with OpenVPN 2.6: about 20 s).
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0 as T0,
  testClientEvents,
  testEnv,
  testFinishedLogin,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { RecordingCommander, wireOf } from "../../support/recording_commander.ts";

/** Alice's resumable session s-1 on cid 4, then a REAUTH on `cid` in `sessionState`. */
async function refusedReauth(sessionState: string, cid = 4, limit = false) {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const fixture = testClientEvents({
    store,
    clock,
    ...(limit
      ? { sessionLimit: { maxPerUser: 1, action: "deny_new", end: () => Promise.resolve() } }
      : {}),
  });
  await store.putSession(testSession({ resumable: true }));
  const lines = await logsOf(() =>
    fixture.events.onReauth(cid, 2, testEnv({ session_state: sessionState }))
  );
  return {
    ...fixture,
    store,
    wire: fixture.commander.commands.map(wireOf),
    denialLine: lines.find((line) => line.text.includes("denied"))?.text,
    audit: lines.filter((line) => line.category === "audit").map((line) => line.text),
  };
}

for (
  const [state, reason] of [
    ["Expired", "session token expired (session_state Expired)"],
    ["ExpiredEmptyUser", "session token expired (session_state ExpiredEmptyUser)"],
    ["Invalid", "session token invalid (session_state Invalid)"],
  ]
) {
  Deno.test(`a REAUTH whose token OpenVPN refused as ${state} ends its session, revokes its refresh token, and says which`, async () => {
    const refused = await refusedReauth(state!);
    refused.events.close();
    assertEquals(refused.wire, [
      `client-deny 4 2 "${reason}" "Your VPN session has expired. Reconnect to sign in again."`,
    ]);
    assertEquals(refused.denialLine, `REAUTH on cid 4 (certificate alice) denied: ${reason}`);
    assertEquals(await refused.store.getSession("s-1"), undefined);
    assertEquals(refused.revoked, ["rt-1"]);
    // No address in the test's ENV: the lines name none.
    assertEquals(refused.audit, [
      "session ended alice (subject u-1) on default cid 4, certificate alice: token_refused",
      "REAUTH denied alice (subject u-1) on default cid 4, certificate alice: session_invalid",
    ]);
  });
}

Deno.test("a REAUTH with a refused token naming a session another client holds leaves that session alone", async () => {
  // OpenVPN before 2.6.21 and 2.7.5 passes on the session_id of a token it refused
  // (CVE-2026-13122): the client's choice, and alice's session is bound to cid 4, not 6.
  const refused = await refusedReauth("Invalid", 6);
  refused.events.close();
  assertEquals(refused.wire.length, 1);
  assertEquals((await refused.store.getSession("s-1"))?.cid, 4);
  assertEquals(refused.revoked, []);
});

Deno.test("a REAUTH in a session_state OpenVPN 2.6 does not send is denied, its session kept", async () => {
  const refused = await refusedReauth("Whatever");
  refused.events.close();
  assertEquals(refused.wire, [
    `client-deny 4 2 "session token refused (unknown session_state)" ` +
    `"Your VPN session has expired. Reconnect to sign in again."`,
  ]);
  assertEquals((await refused.store.getSession("s-1"))?.cid, 4);
});

Deno.test("max_per_user = 1 with deny_new: the same device signs in again while OpenVPN still holds the instance whose token it refused", async () => {
  const refused = await refusedReauth("Expired", 4, true);
  // OpenVPN keeps cid 4 a while (no DISCONNECT yet); the client reconnects as cid 5 and signs in.
  const login = testPendingLogin({ id: "L2", cid: 5, kid: 1, sessionId: "s-2" });
  const commander = new RecordingCommander();
  const outcome = await refused.admission.admitLogin(testFinishedLogin(login), commander);
  refused.events.close();
  assertEquals(outcome.kind, "admitted");
  assertEquals(commander.commands.map((command) => command.kind), ["auth"]);
  assertEquals((await refused.store.findSessionsBySubject("u-1")).map((s) => s.sessionId), [
    "s-2",
  ]);
});
