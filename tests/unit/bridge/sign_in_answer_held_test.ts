/**
 * A sign-in that finishes while the management link is down: its answer (`client-auth`, or the
 * callback's `client-deny`) is held for the link, as a timed-out sign-in's deny is, and written
 * once the link tells the sign-in's OpenVPN run again; dropped when the sign-in ends first
 * (another run, its deadline, its client's DISCONNECT), a held client-auth's session with it.
 * Logged, counted and audited once, when written; a dropped one is counted all the same (a
 * client-auth as an error, a refusal with its reason and its audit line), unless the deadline
 * passed: the timeout that refuses the client then counts it.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { SIGN_IN_TIMED_OUT, UNKNOWN_SESSION } from "../../../src/bridge/denial.ts";
import { LoginFlow, stateTag } from "../../../src/bridge/login_flow.ts";
import { signInGuard } from "../../../src/bridge/sign_in_guard.ts";
import { configureLogging, getLogger } from "../../../src/log.ts";
import { AuthorizationResponseError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { PendingLogin } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testFinishedLogin,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs } from "../../support/log_capture.ts";
import { captureStderr } from "../../support/stderr_capture.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { type RecordedCommand, switchableLink } from "../../support/recording_commander.ts";

const RUN_1 = "4242@1795878880:CONNECTED";
const RUN_2 = "5151@1795879999:CONNECTED";
const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";
const TIMEOUT_MS = 60_000;
const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };
const BOB = { sub: "u-2", preferred_username: "bob", groups: ["/staff"] };

/** A command's kind and ids, as `kind cid kid`. */
const named = (command: RecordedCommand) =>
  `${command.kind} ${command.cid} ${"kid" in command ? command.kid : "-"}`;

/** Lets what a link-up or a fired deadline started (store calls, commands) run to its end. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Alice's 2.6 client's sign-in on cid 4, begun in RUN_1 while the link was up; then the link
 * went down. Sign-ins
 * are answered through the guard, as the daemon's link builder wires it.
 */
async function signInBegun() {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const link = switchableLink({ up: true });
  const counted: string[] = [];
  const t = testClientEvents({
    store,
    clock,
    eventsCommander: link.commander,
    authPendingTimeoutMs: TIMEOUT_MS,
    newLoginId: () => LOGIN_ID,
    metrics: countingMetrics(counted),
  });
  const guarded = signInGuard(
    link.commander,
    (cid, signIn) => t.events.isCurrentSignIn(cid, signIn),
    () => t.events.openvpnRun,
  );
  await t.events.openvpnRunIs(RUN_1);
  // A 2.6 client: its session is resumable from sign-in on (login_session.ts).
  await t.events.onConnect(4, 1, testEnv({ common_name: "laptop", IV_VER: "2.6.14" }));
  assertEquals(link.commands.map((c) => c.kind), ["pending"]);
  link.commands.length = 0;
  link.state.up = false;
  const logs = captureLogs();
  const audit = () =>
    logs.lines.filter((line) => line.category === "audit").map(({ properties }) => ({
      event: properties.event,
      cid: properties.cid,
      reason: properties.reason,
    }));
  /** The link is back and tells `run`. */
  const linkBack = async (run: string) => {
    link.state.up = true;
    await t.events.openvpnRunIs(run);
    await tick();
  };
  return { ...t, clock, store, link, guarded, counted, logs, audit, linkBack };
}

/** What the IdP's callback brought for the pending login, taken out of the store. */
async function finished(store: MemoryStore, claims: Record<string, unknown>) {
  const login = (await store.takePending(LOGIN_ID))!;
  return testFinishedLogin(login, {
    claims,
    subject: String(claims.sub),
    refreshToken: `rt-${claims.preferred_username}`,
  });
}

Deno.test("a client-auth the link did not write is held and sent once the link is back in the sign-in's run; the session is kept for the client's REAUTH; counted and audited once", async () => {
  const t = await signInBegun();
  try {
    const outcome = await t.admission.admitLogin(await finished(t.store, ALICE), t.guarded);
    // The browser hears that the VPN server has not confirmed yet, not that the client left.
    assertEquals(outcome, { kind: "no-answer" });
    assertEquals((await t.store.getSession("s-1"))?.cid, 4);
    assertEquals([t.link.commands, t.counted, t.audit()], [[], [], []]);

    await t.linkBack(RUN_1);
    assertEquals(t.link.commands.map(named), ["auth 4 1"]);
    // Told again (a state change), nothing more is sent.
    await t.linkBack(RUN_1);
    assertEquals(t.link.commands.length, 1);
    assertEquals(t.counted, ["login admitted"]);
    assertEquals(t.audit(), [{ event: "admitted", cid: 4, reason: null }]);
    assertEquals(t.revoked, []);

    await t.events.onReauth(4, 2, testEnv({ common_name: "laptop" }));
    assertEquals(t.link.commands.at(-1), { kind: "auth-nt", cid: 4, kid: 2 });
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held client-auth is not sent when the link comes back in another OpenVPN run: its session ends and its grant is given back, the sign-in counted as an error, nobody audited as admitted", async () => {
  const t = await signInBegun();
  try {
    assertEquals(
      await t.admission.admitLogin(await finished(t.store, ALICE), t.guarded),
      { kind: "no-answer" },
    );
    await t.linkBack(RUN_2);
    assertEquals(t.link.commands, []);
    assertEquals(await t.store.getSession("s-1"), undefined);
    assertEquals(t.revoked, ["rt-alice"]);
    assertEquals([t.counted, t.audit()], [["login error"], []]);
    assert(
      t.logs.lines.some((line) =>
        line.text.startsWith("client-auth for alice (cid 4) not sent: OpenVPN restarted")
      ),
    );
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held client-auth whose sign-in's deadline passes before the link is back ends its session; the client is halted as timed out once the link is back", async () => {
  const t = await signInBegun();
  try {
    assertEquals(
      await t.admission.admitLogin(await finished(t.store, ALICE), t.guarded),
      { kind: "no-answer" },
    );
    t.clock.advance(TIMEOUT_MS);
    await tick();
    assertEquals(await t.store.getSession("s-1"), undefined);
    assertEquals(t.revoked, ["rt-alice"]);

    await t.linkBack(RUN_1);
    assertEquals(t.link.commands, [{
      kind: "halt",
      cid: 4,
      kid: 1,
      reason: SIGN_IN_TIMED_OUT.logReason,
      clientReason: SIGN_IN_TIMED_OUT.reason,
    }]);
    assertEquals(t.counted, ["login timeout", "denial timeout"]);
    assertEquals(t.audit(), [{ event: "denied", cid: 4, reason: "timeout" }]);
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held client-auth whose client leaves first is dropped: its session is deleted, not kept unbound for a token the client never got; the sign-in counted as an error", async () => {
  const t = await signInBegun();
  try {
    assertEquals(
      await t.admission.admitLogin(await finished(t.store, ALICE), t.guarded),
      { kind: "no-answer" },
    );
    assert((await t.store.getSession("s-1"))?.resumable, "a 2.6 client's session is resumable");
    await t.events.onDisconnect(4);
    await tick();
    assertEquals(await t.store.getSession("s-1"), undefined);
    assertEquals(t.revoked, ["rt-alice"]);
    await t.linkBack(RUN_1);
    assertEquals([t.link.commands, t.counted, t.audit()], [[], ["login error"], []]);
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held client-auth's line says why it is not sent in its sentence, through the real sink", async () => {
  const t = await signInBegun();
  try {
    assertEquals(
      await t.admission.admitLogin(await finished(t.store, ALICE), t.guarded),
      { kind: "no-answer" },
    );
    configureLogging("info", "text", false);
    const stderr = captureStderr();
    try {
      await t.linkBack(RUN_2);
    } finally {
      stderr.restore();
      configureLogging("warning", "text", false);
    }
    const line = stderr.lines().find((text) => text.includes("not sent"));
    assert(
      line?.endsWith(
        'client-auth for "alice" (cid 4) not sent: OpenVPN restarted meanwhile, and its client ' +
          "went with it; its session ends",
      ),
      line,
    );
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held client-auth whose session ended meanwhile (an admin's revoke while the link was down) is not sent: the client is denied instead", async () => {
  const t = await signInBegun();
  try {
    assertEquals(
      await t.admission.admitLogin(await finished(t.store, ALICE), t.guarded),
      { kind: "no-answer" },
    );
    assertEquals((await t.sessionEnd.endAll(["s-1"], "admin-revoke")).ended, 1);
    await t.linkBack(RUN_1);
    assertEquals(t.link.commands, [{
      kind: "deny",
      cid: 4,
      kid: 1,
      reason: UNKNOWN_SESSION.logReason,
      clientReason: UNKNOWN_SESSION.reason,
    }]);
    assertEquals(await t.store.getSession("s-1"), undefined);
    assertEquals(t.counted, ["login denied", "denial session_invalid"]);
    assertEquals(t.audit(), [
      { event: "session_ended", cid: 4, reason: "revoked" },
      { event: "denied", cid: 4, reason: "session_invalid" },
    ]);
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a callback's refusal (HALT) the link did not write is held and sent once the link is back in the sign-in's run, counted and audited then", async () => {
  const t = await signInBegun();
  try {
    const outcome = await t.admission.admitLogin(await finished(t.store, BOB), t.guarded);
    // The page tells the user why at once.
    assertEquals(outcome.kind, "denied");
    assertEquals([t.link.commands, t.counted, t.audit()], [[], [], []]);

    await t.linkBack(RUN_1);
    assertEquals(t.link.commands, [{
      kind: "halt",
      cid: 4,
      kid: 1,
      reason: "group",
      clientReason: "You are not in a group allowed to use this VPN",
    }]);
    assertEquals(t.counted, ["login denied", "denial group"]);
    assertEquals(t.audit(), [{ event: "denied", cid: 4, reason: "group" }]);
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held refusal is dropped when the link comes back in another OpenVPN run: nothing sent, the refusal counted and audited with its reason", async () => {
  const t = await signInBegun();
  try {
    await t.admission.admitLogin(await finished(t.store, BOB), t.guarded);
    await t.linkBack(RUN_2);
    assertEquals(t.link.commands, []);
    assertEquals(t.counted, ["login denied", "denial group"]);
    assertEquals(t.audit(), [{ event: "denied", cid: 4, reason: "group" }]);
    // Its reason code is named in the log lines as written (not masked as a credential).
    const held = t.logs.lines.filter((line) => line.text.startsWith("client-kill for cid 4"));
    assertEquals(held.map((line) => line.text.split(":")[0]), [
      "client-kill for cid 4 (group) not written, to be sent once the management link is back in the sign-in's OpenVPN run",
      "client-kill for cid 4 (group) not sent",
    ]);
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

Deno.test("a held refusal whose sign-in's deadline passes before the link is back is counted once, as the timeout that halts the client", async () => {
  const t = await signInBegun();
  try {
    await t.admission.admitLogin(await finished(t.store, BOB), t.guarded);
    t.clock.advance(TIMEOUT_MS);
    await tick();
    await t.linkBack(RUN_1);
    assertEquals(t.link.commands.map(named), ["halt 4 1"]);
    assertEquals(t.counted, ["login timeout", "denial timeout"]);
    assertEquals(t.audit(), [{ event: "denied", cid: 4, reason: "timeout" }]);
  } finally {
    t.logs.stop();
    t.events.close();
  }
});

/**
 * The login flow's refusal of an IdP's answer the link did not write is held and sent once the
 * link is back: a failure is denied, a user's or the IdP's refusal (access_denied) halted.
 */
for (
  const [idpError, sent, reason] of [
    ["temporarily_unavailable", "deny 4 1", "idp_error"],
    ["access_denied", "halt 4 1", "idp_denied"],
  ] as const
) {
  Deno.test(
    `the login flow's refusal of an IdP's ${idpError} the link did not write is held and sent once the link is back: ${
      sent.split(" ")[0]
    }`,
    async () => {
      const t = await signInBegun();
      try {
        const login = (await t.store.getPending(LOGIN_ID))!;
        const state = `${stateTag(LOGIN_ID)}.state-1`;
        const oauth = { state, nonce: "n", codeVerifier: "v", browserBinding: "b" };
        assert(await t.store.updatePending({ ...login, oauth } satisfies PendingLogin));
        const flow = new LoginFlow({
          store: t.store,
          oidc: {
            startLogin: () => Promise.reject(new Error("not begun here")),
            finishLogin: () => Promise.reject(new AuthorizationResponseError(idpError, "test")),
          },
          commanders: () => t.guarded,
          admission: t.admission,
          checkClientIp: false,
          now: t.clock.now,
          log: getLogger("test"),
        });
        const outcome = await flow.complete(
          new URL(`https://vpn.example.com/oauth2/callback?state=${state}&error=${idpError}`),
          [[LOGIN_ID, "b"]],
          "198.51.100.7",
        );
        assertEquals(outcome.kind, "denied");
        assertEquals(t.link.commands, []);

        await t.linkBack(RUN_1);
        assertEquals(t.link.commands.map(named), [sent]);
        assertEquals(t.audit(), [{ event: "denied", cid: 4, reason }]);
      } finally {
        t.logs.stop();
        t.events.close();
      }
    },
  );
}
