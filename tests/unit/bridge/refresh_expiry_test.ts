/**
 * The refresh token's expiry (`refresh_expires_in`, Keycloak's SSO Session Idle and Max) where
 * sessions are re-checked at the IdP: a reconnect after it is sent to sign in again instead of
 * being admitted on the stored claims and killed at the next re-check.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { NO_WEBAUTH, REFRESH_TOKEN_EXPIRED } from "../../../src/bridge/denial.ts";
import { createOidcClient } from "../../../src/oidc/client.ts";
import { IdpRejectedError } from "../../../src/oidc/errors.ts";
import type { FinishedLogin } from "../../../src/bridge/login_session.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { PendingLogin } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testFinishedLogin,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { type CapturedLine, logsOf } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { FakeIdp, oidcConfig, REDIRECT_URI } from "../oidc/fake_idp.ts";
import { refreshTokenExpired, ShortRefreshTokens } from "../../../src/bridge/refresh_expiry.ts";
import { getLogger } from "../../../src/log.ts";

const T0 = EVENTS_T0;
const MINUTE = 60_000;
const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };
const LOGIN_ID = "AAAAAAAAAAAAAAAAAAAAAA";

/** Alice's sign-in on `login`, finished at the IdP with a refresh token lasting until then. */
function finished(login: PendingLogin, refreshExpiresAt: number | undefined): FinishedLogin {
  return testFinishedLogin(login, { claims: ALICE, refreshExpiresAt });
}

/**
 * Alice signs in on cid 4 (a client with a user name, so resumable) with a refresh token the
 * IdP says lasts `refreshSec` (Keycloak's SSO Session Idle: 1800 s by default; null: the IdP
 * sends no refresh_expires_in, as most besides Keycloak).
 */
async function signedIn(
  options: {
    refreshSec?: number | null;
    recheckIntervalMs?: number;
    reauthCheck?: "none" | "refresh";
  } = {},
) {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = testClientEvents({
    store,
    clock,
    newLoginId: () => LOGIN_ID,
    ...(options.recheckIntervalMs === undefined
      ? {}
      : { recheckIntervalMs: options.recheckIntervalMs }),
    ...(options.reauthCheck === undefined ? {} : { reauthCheck: options.reauthCheck }),
  });
  const login = testPendingLogin({ username: "alice" });
  const logs = await logsOf(() =>
    t.admission.admitLogin(
      finished(
        login,
        options.refreshSec === null ? undefined : T0 + (options.refreshSec ?? 1800) * 1000,
      ),
      new RecordingCommander(),
    )
  );
  assertEquals((await store.getSession("s-1"))?.resumable, true);
  return { ...t, clock, store, signInLogs: logs };
}

/** The laptop sleeps: DISCONNECT, `awayMs` pass, then CONNECT with OpenVPN's token on cid 9. */
async function reconnectAfter(
  t: Awaited<ReturnType<typeof signedIn>>,
  awayMs: number,
  env: Record<string, string> = {},
): Promise<CapturedLine[]> {
  await t.events.onDisconnect(4);
  assertEquals((await t.store.getSession("s-1"))?.cid, undefined);
  t.clock.advance(awayMs);
  return await logsOf(() =>
    t.events.onConnect(
      9,
      1,
      testEnv({ session_state: "Authenticated", username: "alice", ...env }),
    )
  );
}

function audits(logs: CapturedLine[]) {
  return logs.filter((l) => l.category === "audit").map((l) => [
    l.properties.event,
    l.properties.reason,
  ]);
}

Deno.test("a token reconnect after the refresh token expired at the IdP (recheck_interval set) ends the session and is sent to the browser, not admitted", async () => {
  const t = await signedIn({ recheckIntervalMs: 15 * MINUTE });
  const logs = await reconnectAfter(t, 45 * MINUTE);
  assertEquals(t.commander.commands, [{
    kind: "pending",
    cid: 9,
    kid: 1,
    url: `https://vpn.example.com/login/${LOGIN_ID}`,
    timeoutSec: 65,
  }]);
  assertEquals(await t.store.getSession("s-1"), undefined);
  assertEquals((await t.store.getPending(LOGIN_ID))?.cid, 9);
  // A dead token is not revoked.
  assertEquals(t.revoked, []);
  assertEquals(audits(logs), [["session_ended", "idp_session_expired"]]);
  const why = logs.filter((l) => l.level === "info" && l.text.includes("not resumed"));
  assertEquals(why.length, 1);
  assertStringIncludes(why[0]!.text, "refresh token expired at the identity provider");
  assertStringIncludes(why[0]!.text, "SSO Session Idle");
  assertStringIncludes(why[0]!.text, "offline_access");
  assert(logs.every((l) => !l.text.includes("rt-1")), "a token was logged");
  t.events.close();
});

Deno.test("a token reconnect while the refresh token is still valid is admitted from the session as before", async () => {
  const t = await signedIn({ recheckIntervalMs: 15 * MINUTE });
  await reconnectAfter(t, 20 * MINUTE);
  assertEquals(t.commander.commands, [{
    kind: "auth",
    cid: 9,
    kid: 1,
    lines: ["session-timeout 2400"],
  }]);
  assertEquals((await t.store.getSession("s-1"))?.cid, 9);
  t.events.close();
});

Deno.test("an IdP that says nothing of its refresh token's lifetime: a token reconnect 45 minutes later is admitted as before, and nothing is warned", async () => {
  const t = await signedIn({ refreshSec: null, recheckIntervalMs: 15 * MINUTE });
  assertEquals((await t.store.getSession("s-1"))?.refreshExpiresAt, undefined);
  assertEquals(t.signInLogs.filter((l) => l.level === "warning"), []);
  await reconnectAfter(t, 45 * MINUTE);
  assertEquals(t.commander.commands, [{
    kind: "auth",
    cid: 9,
    kid: 1,
    lines: ["session-timeout 900"],
  }]);
  assertEquals((await t.store.getSession("s-1"))?.cid, 9);
  t.events.close();
});

Deno.test("Keycloak's refresh_expires_in = 0 (an offline token) is no expiry: a REAUTH under reauth_check = refresh is re-checked at the IdP, not ended", async () => {
  const clock = new FakeClock(T0);
  const idp = await FakeIdp.create();
  idp.nowSec = T0 / 1000;
  idp.tokenExtras = { refresh_expires_in: 0 };
  const oidc = createOidcClient(oidcConfig(), REDIRECT_URI, { fetch: idp.fetch, clock });
  const start = await oidc.startLogin("tag");
  idp.nonce = start.nonce;
  const callback = new URL(REDIRECT_URI);
  callback.searchParams.set("code", "the-code");
  callback.searchParams.set("state", start.state);
  const result = await oidc.finishLogin(callback, start);
  idp.nonce = undefined;

  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = testClientEvents({
    store,
    clock,
    reauthCheck: "refresh",
    refresh: (token, subject) => oidc.refresh(token, subject),
  });
  const login = testPendingLogin({ username: "alice" });
  const admitted = await t.admission.admitLogin(
    { ...finished(login, undefined), result },
    new RecordingCommander(),
  );
  assertEquals(admitted, { kind: "admitted", username: "alice" });

  clock.advance(30 * MINUTE);
  idp.nowSec = clock.now() / 1000;
  await t.events.onReauth(4, 3, testEnv({}));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 3 }]);
  const kept = await store.getSession("s-1");
  assertEquals([kept?.refreshToken, kept?.refreshExpiresAt], ["refresh-token-2", undefined]);
  t.events.close();
});

Deno.test("without a re-check at the IdP, a token reconnect after the refresh token expired is admitted on the stored claims as before", async () => {
  const t = await signedIn();
  await reconnectAfter(t, 45 * MINUTE);
  assertEquals(t.commander.commands, [{
    kind: "auth",
    cid: 9,
    kid: 1,
    lines: ["session-timeout 900"],
  }]);
  assertEquals((await t.store.getSession("s-1"))?.cid, 9);
  t.events.close();
});

Deno.test("reauth_check = refresh: a token reconnect after the refresh token expired asks no futile refresh and is sent to the browser", async () => {
  // The fixture's IdP fails the test at any refresh.
  const t = await signedIn({ reauthCheck: "refresh" });
  await reconnectAfter(t, 45 * MINUTE);
  assertEquals(t.commander.commands.map((c) => c.kind), ["pending"]);
  assertEquals(await t.store.getSession("s-1"), undefined);
  t.events.close();
});

Deno.test("a client that cannot do browser sign-in gets the new client's refusal instead: halted", async () => {
  const t = await signedIn({ recheckIntervalMs: 15 * MINUTE });
  await reconnectAfter(t, 45 * MINUTE, { IV_SSO: "openurl" });
  assertEquals(t.commander.commands, [{
    kind: "halt",
    cid: 9,
    kid: 1,
    reason: NO_WEBAUTH.logReason,
    clientReason: NO_WEBAUTH.reason,
  }]);
  assertEquals(await t.store.getSession("s-1"), undefined);
  t.events.close();
});

Deno.test("a REAUTH that would be accepted on the stored claims is denied once the refresh token expired (recheck_interval set), and the session ends", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = testClientEvents({ store, clock, recheckIntervalMs: 15 * MINUTE });
  await store.putSession(testSession({ refreshExpiresAt: T0 - 1 }));
  const logs = await logsOf(() => t.events.onReauth(4, 3, testEnv({})));
  assertEquals(t.commander.commands, [{
    kind: "deny",
    cid: 4,
    kid: 3,
    reason: REFRESH_TOKEN_EXPIRED.logReason,
    clientReason: REFRESH_TOKEN_EXPIRED.reason,
  }]);
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals(t.revoked, []);
  const denied = logs.find((l) => l.text.includes("denied"));
  assertStringIncludes(denied?.text ?? "", "SSO Session Idle");
  t.events.close();
});

Deno.test("a periodic re-check refused after the refresh token expired says so, not as a disabled user", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const t = testClientEvents({
    store,
    clock,
    recheckIntervalMs: 15 * MINUTE,
    refresh: () => Promise.reject(new IdpRejectedError("Refresh failed: invalid_grant")),
  });
  await store.putSession(testSession({ refreshExpiresAt: T0 - 1 }));
  const logs = await logsOf(() => t.admission.recheckSession("s-1", "default"));
  const failed = logs.filter((l) => l.text.startsWith("Refresh for alice failed"));
  assertEquals(failed.length, 1);
  assertStringIncludes(failed[0]!.text, "the refresh token had expired at");
  assertStringIncludes(failed[0]!.text, "SSO Session Idle");
  assertEquals(audits(logs), [
    ["session_ended", "idp_session_expired"],
    ["recheck_denied", "session_expired"],
  ]);
  assertEquals(t.commander.commands, [{ kind: "kill", cid: 4, message: "RESTART" }]);

  // Refused while the token should still have been good: as before (the user disabled, say).
  await store.putSession(testSession({ refreshExpiresAt: T0 + MINUTE }));
  const again = await logsOf(() => t.admission.recheckSession("s-1", "default"));
  assertEquals(
    again.filter((l) => l.text.startsWith("Refresh for alice failed")).map((l) => l.text),
    ["Refresh for alice failed: Refresh failed: invalid_grant"],
  );
  assertEquals(audits(again), [
    ["session_ended", "recheck_failed"],
    ["recheck_denied", "recheck_failed"],
  ]);
  t.events.close();
});

Deno.test("a sign-in whose refresh token lasts no longer than two recheck_intervals (the first re-check's longest wait) is warned about", async () => {
  const warnings = (logs: CapturedLine[]) =>
    logs.filter((l) => l.level === "warning" && l.text.includes("recheck_interval"));
  const short = await signedIn({ refreshSec: 600, recheckIntervalMs: 15 * MINUTE });
  const warned = warnings(short.signInLogs);
  assertEquals(warned.length, 1);
  assertStringIncludes(warned[0]!.text, "600 s");
  assertStringIncludes(warned[0]!.text, "900 s");
  assertStringIncludes(warned[0]!.text, "SSO Session Idle");
  assertStringIncludes(warned[0]!.text, "offline_access");
  short.events.close();
  // Keycloak's default SSO Session Idle against a 20-minute interval: a session bound just
  // after its round was listed is first re-checked up to 40 minutes later.
  const idle = await signedIn({ refreshSec: 1800, recheckIntervalMs: 20 * MINUTE });
  assertEquals(warnings(idle.signInLogs).length, 1);
  assertStringIncludes(warnings(idle.signInLogs)[0]!.text, "under half of");
  idle.events.close();

  // Long enough, or nothing re-checked periodically: nothing to say.
  const long = await signedIn({ refreshSec: 1800, recheckIntervalMs: 14 * MINUTE });
  assertEquals(warnings(long.signInLogs), []);
  long.events.close();
  const none = await signedIn({ refreshSec: 600 });
  assertEquals(warnings(none.signInLogs), []);
  none.events.close();
});

Deno.test("the short refresh token warning comes at most every ten minutes, with how many since", async () => {
  const t = await signedIn({ refreshSec: 600, recheckIntervalMs: 15 * MINUTE });
  const signIn = (sessionId: string, cid: number) => {
    const login = testPendingLogin({ username: "alice", sessionId, cid });
    return logsOf(() =>
      t.admission.admitLogin(finished(login, t.clock.now() + 600_000), new RecordingCommander())
    );
  };
  const warned = (logs: CapturedLine[]) =>
    logs.filter((l) => l.level === "warning" && l.text.includes("recheck_interval"));
  assertEquals(warned(await signIn("s-2", 5)), []);
  assertEquals(warned(await signIn("s-3", 6)), []);
  t.clock.advance(10 * MINUTE);
  const next = warned(await signIn("s-4", 7));
  assertEquals(next.map((l) => l.properties.more), [2]);
  t.events.close();
});

Deno.test("refreshTokenExpired() counts a refresh token as expired from the instant the IdP said, not a moment later", () => {
  assertEquals(refreshTokenExpired({ refreshExpiresAt: T0 }, T0 - 1), false);
  assertEquals(refreshTokenExpired({ refreshExpiresAt: T0 }, T0), true);
  assertEquals(refreshTokenExpired({ refreshExpiresAt: undefined }, T0), false);
});

Deno.test("a refresh token lasting exactly two recheck_intervals is warned about: a re-check comes a little after its slot", async () => {
  const short = new ShortRefreshTokens(getLogger("test"), () => T0);
  const at = { now: T0, recheckIntervalMs: 15 * MINUTE };
  const logs = await logsOf(() => {
    short.check("alice", T0 + 30 * MINUTE, at);
    return Promise.resolve();
  });
  assertEquals(logs.filter((l) => l.level === "warning").length, 1);
  const longer = new ShortRefreshTokens(getLogger("test"), () => T0);
  const none = await logsOf(() => {
    longer.check("alice", T0 + 30 * MINUTE + 1000, at);
    return Promise.resolve();
  });
  assertEquals(none.filter((l) => l.level === "warning"), []);
});
