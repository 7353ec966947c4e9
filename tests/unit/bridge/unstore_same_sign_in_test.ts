/**
 * A sign-in whose client-auth OpenVPN refused, or that a held answer never reached, deletes the
 * session it stored: no session may be left without its client. Only that session, though: the
 * client may have come back with the same OpenVPN session id and signed in again meanwhile, and
 * the session that sign-in stored under the same id is its own (admission.ts, #unstore).
 */
import { assertEquals } from "../../support/assert.ts";
import type { ClientCommander } from "../../../src/bridge/commander.ts";
import type { HeldSignInAnswer } from "../../../src/bridge/admission_types.ts";
import type { FinishedLogin } from "../../../src/bridge/login_session.ts";
import {
  ManagementCommandError,
  ManagementConnectionError,
} from "../../../src/management/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0,
  testAdmission,
  testFinishedLogin,
  testPendingLogin,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { switchableLink } from "../../support/recording_commander.ts";

const RUN = "4242@1795878880:CONNECTED";

/** Alice's finished sign-in on cid 4, its session to be stored as s-1. */
function finished(): FinishedLogin {
  return testFinishedLogin(testPendingLogin({ openvpnRun: RUN }), { refreshToken: "rt-alice" });
}

/** A link that carries out every command but client-auth, which `auth` answers. */
function linkWhoseAuth(auth: ClientCommander["auth"]): ClientCommander {
  return { ...switchableLink({ up: true }).commander, auth };
}

/** An admission over a store whose deletes are recorded. */
function setup() {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const deleted: string[] = [];
  const deleteSession = store.deleteSession.bind(store);
  store.deleteSession = (sessionId) => {
    deleted.push(sessionId);
    return deleteSession(sessionId);
  };
  const t = testAdmission({ store, now: clock.now });
  /** Another sign-in of the client stores its own session under the same id. */
  const signedInAgain = async () => {
    const first = (await store.getSession("s-1"))!;
    await store.putSession({ ...first, createdAt: first.createdAt + 1_000, refreshToken: "rt-2" });
  };
  return { ...t, store, deleted, signedInAgain };
}

Deno.test("a client-auth OpenVPN refused leaves alone the session another sign-in stored under the same id meanwhile", async () => {
  const t = setup();
  const commander = linkWhoseAuth(async () => {
    await t.signedInAgain();
    throw new ManagementCommandError("client-auth", "ERROR: client-auth command failed");
  });
  assertEquals(await t.admission.admitLogin(finished(), commander), { kind: "client-gone" });
  assertEquals(t.deleted, []);
  assertEquals((await t.store.getSession("s-1"))?.createdAt, EVENTS_T0 + 1_000);
  assertEquals(t.revoked, ["rt-alice"], "the refused sign-in's grant is given back");
});

Deno.test("a held client-auth dropped leaves alone the session another sign-in stored under the same id meanwhile", async () => {
  const t = setup();
  const held: HeldSignInAnswer[] = [];
  t.admission.holdAnswersFor("default", {
    holdSignInAnswer: (answer) => held.push(answer) > 0,
    signInTaking: () => () => {},
    clientAdmitted: () => {},
    sessionMovedOff: () => {},
  });
  // The link is down: the answer is held for it.
  const commander = linkWhoseAuth(() =>
    Promise.reject(new ManagementConnectionError("not-connected", "Management link down"))
  );
  assertEquals(await t.admission.admitLogin(finished(), commander), { kind: "no-answer" });
  assertEquals(held.length, 1);
  await t.signedInAgain();
  await held[0]!.drop("its client left");
  assertEquals(t.deleted, []);
  assertEquals((await t.store.getSession("s-1"))?.createdAt, EVENTS_T0 + 1_000);
});
