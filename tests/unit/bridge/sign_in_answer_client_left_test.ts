/**
 * The link holds the answer to a finished sign-in it could not write only while the sign-in still
 * waits (ClientEvents.holdSignInAnswer). One whose client left before the answer came is not
 * held: no DISCONNECT is left to drop it, and the session stored for it would wait for a
 * client-auth that never goes out. The sign-in ends there: its session is deleted and the
 * browser is told the client has gone.
 */
import { assertEquals } from "../../support/assert.ts";
import { signInGuard } from "../../../src/bridge/sign_in_guard.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testFinishedLogin,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { switchableLink } from "../../support/recording_commander.ts";

const RUN = "4242@1795878880:CONNECTED";
const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";

/**
 * Alice's sign-in on cid 4, begun in RUN; its callback has taken the pending login when the
 * client leaves (DISCONNECT), and then the link goes down: every command is refused unwritten.
 */
async function signInWhoseClientLeft() {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const link = switchableLink({ up: true });
  const t = testClientEvents({
    store,
    clock,
    eventsCommander: link.commander,
    newLoginId: () => LOGIN_ID,
  });
  // As the daemon's link builder wires sign-in answers.
  const guarded = signInGuard(
    link.commander,
    (cid, signIn) => t.events.isCurrentSignIn(cid, signIn),
    () => t.events.openvpnRun,
  );
  await t.events.openvpnRunIs(RUN);
  await t.events.onConnect(4, 1, testEnv({ common_name: "laptop", IV_VER: "2.6.14" }));
  const login = (await store.takePending(LOGIN_ID))!;
  await t.events.onDisconnect(4);
  link.state.up = false;
  const finished = testFinishedLogin(login, { refreshToken: "rt-alice" });
  return { ...t, store, guarded, finished };
}

Deno.test("holdSignInAnswer() refuses the answer to a sign-in whose client left", async () => {
  const t = await signInWhoseClientLeft();
  try {
    const held = t.events.holdSignInAnswer({
      command: "client-auth",
      cid: 4,
      signIn: { loginId: LOGIN_ID, openvpnRun: RUN },
      send: () => Promise.resolve(),
      drop: () => Promise.resolve(),
    });
    assertEquals(held, false);
  } finally {
    t.events.close();
  }
});

Deno.test("a sign-in whose client left before its client-auth could be written ends: its session is deleted, the browser hears the client has gone", async () => {
  const t = await signInWhoseClientLeft();
  try {
    const outcome = await t.admission.admitLogin(t.finished, t.guarded);
    assertEquals(outcome, { kind: "client-gone" });
    assertEquals(await t.store.getSession(t.finished.sessionId), undefined);
    assertEquals(t.revoked, ["rt-alice"]);
  } finally {
    t.events.close();
  }
});
