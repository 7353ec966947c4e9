/**
 * The refresh token a finished sign-in brings: revoked at the IdP when the sign-in is refused or
 * its session is not kept (else each refused attempt leaves a grant there: a Keycloak offline
 * session idles for 30 days), unless a stored session of the same IdP session shares that grant;
 * and warned about when it is missing where sessions are re-checked, as such a session ends at
 * its first re-check.
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { NO_REFRESH_TOKEN, TOO_MANY_SESSIONS } from "../../../src/bridge/denial.ts";
import type { FinishedLogin } from "../../../src/bridge/login_session.ts";
import {
  ManagementCommandError,
  ManagementConnectionError,
} from "../../../src/management/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import {
  EVENTS_T0,
  testAdmission,
  testClientEvents,
  testEnv,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { type CapturedLine, logsOf } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

const T0 = EVENTS_T0;
const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };

/**
 * Alice's sign-in on cid 4 (session s-1), finished at the IdP with these claims and refresh
 * token ("rt-offline-1" unless given; undefined: the IdP issued none).
 */
function finished(
  options: {
    claims?: Record<string, unknown>;
    refreshToken?: string | undefined;
    sessionId?: string;
    cid?: number;
    /** The IdP's SSO session; none unless given. */
    sid?: string;
  } = {},
): FinishedLogin {
  const { claims = ALICE, sessionId = "s-1", cid = 4, sid } = options;
  const refreshToken = "refreshToken" in options ? options.refreshToken : "rt-offline-1";
  const login = testPendingLogin({ username: "alice", sessionId, cid });
  return {
    client: {
      ...login,
      kind: "login",
      signIn: { loginId: login.id, openvpnRun: login.openvpnRun },
    },
    sessionId,
    result: {
      claims,
      subject: "u-1",
      sid,
      refreshToken,
      refreshExpiresAt: undefined,
      idToken: "x",
    },
  };
}

function memoryStore(): MemoryStore {
  return new MemoryStore({ maxEntries: 100, now: () => T0 });
}

Deno.test("admitLogin() revokes the refresh token of a sign-in the policy refuses", async () => {
  const store = memoryStore();
  const { admission, revoked } = testAdmission({ store, now: () => T0 });
  const commander = new RecordingCommander();
  const outcome = await admission.admitLogin(
    finished({ claims: { ...ALICE, groups: ["/other"] } }),
    commander,
  );
  assertEquals(outcome.kind === "denied" && outcome.denial.code, "group");
  assertEquals(commander.commands.map((c) => c.kind), ["halt"]);
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals(revoked, ["rt-offline-1"]);
});

Deno.test("admitLogin() revokes the refresh token of a sign-in refused by max_per_user = deny_new", async () => {
  const store = memoryStore();
  // Alice's other client (another certificate: the same one's would be replaced) holds her one
  // session.
  await store.putSession(testSession({ sessionId: "s-held", cid: 7, commonName: "alice-phone" }));
  const { admission, revoked } = testAdmission({
    store,
    now: () => T0,
    sessionLimit: { maxPerUser: 1, action: "deny_new", end: () => Promise.resolve() },
  });
  const outcome = await admission.admitLogin(finished(), new RecordingCommander());
  assertEquals(outcome, { kind: "denied", denial: TOO_MANY_SESSIONS });
  assertEquals(revoked, ["rt-offline-1"]);
  assertEquals((await store.getSession("s-held"))?.refreshToken, "rt-1");
});

Deno.test("admitLogin() revokes the refresh token of a sign-in whose session the store cannot keep", async () => {
  for (
    const failure of [
      new StoreUnavailableError("Redis down"),
      new StoreFullError("sessions", 1),
      new Error("a bug"),
    ]
  ) {
    const store = memoryStore();
    store.putSession = () => Promise.reject(failure);
    const { admission, revoked } = testAdmission({ store, now: () => T0 });
    const outcome = await admission.admitLogin(finished(), new RecordingCommander());
    assertEquals(outcome.kind, "denied", failure.message);
    assertEquals(revoked, ["rt-offline-1"], failure.message);
  }
});

Deno.test("admitLogin() revokes the refresh token when the client left before client-auth, and keeps it when OpenVPN may still admit the client", async () => {
  const gone = Object.assign(new RecordingCommander(), {
    auth: () =>
      Promise.reject(
        new ManagementCommandError("client-auth", "ERROR: client-auth command failed"),
      ),
  });
  const store = memoryStore();
  const refused = testAdmission({ store, now: () => T0 });
  assertEquals(await refused.admission.admitLogin(finished(), gone), { kind: "client-gone" });
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals(refused.revoked, ["rt-offline-1"]);

  // Unconfirmed: the session is kept for the client OpenVPN may have taken, with its grant.
  const silent = Object.assign(new RecordingCommander(), {
    auth: () => Promise.reject(new ManagementConnectionError("timeout", "no reply in time")),
  });
  const unconfirmed = testAdmission({ store, now: () => T0 });
  assertEquals(await unconfirmed.admission.admitLogin(finished(), silent), { kind: "no-answer" });
  assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-offline-1");
  assertEquals(unconfirmed.revoked, []);
});

Deno.test("admitLogin() keeps the refresh token of an admitted sign-in, and revokes nothing without one", async () => {
  const store = memoryStore();
  const { admission, revoked } = testAdmission({ store, now: () => T0 });
  const outcome = await admission.admitLogin(finished(), new RecordingCommander());
  assertEquals(outcome, { kind: "admitted", username: "alice" });
  assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-offline-1");
  // Refused, but the IdP issued no refresh token: nothing to give back.
  await admission.admitLogin(
    finished({ sessionId: "s-2", refreshToken: undefined, claims: { ...ALICE, groups: [] } }),
    new RecordingCommander(),
  );
  assertEquals(revoked, []);
});

Deno.test("admitLogin() leaves the refresh token of a refused sign-in alone when a stored session of the same IdP session holds the grant too", async () => {
  const limit = { maxPerUser: 1, action: "deny_new", end: () => Promise.resolve() } as const;
  // Signed in again from the browser of the held session: Keycloak's one client session per SSO
  // session and client, which revoking this token would end under the held session too.
  const store = memoryStore();
  await store.putSession(
    testSession({ sessionId: "s-held", cid: 7, sid: "sso-1", commonName: "alice-phone" }),
  );
  const same = testAdmission({ store, now: () => T0, sessionLimit: limit });
  const refused = await same.admission.admitLogin(
    finished({ sid: "sso-1" }),
    new RecordingCommander(),
  );
  assertEquals(refused, { kind: "denied", denial: TOO_MANY_SESSIONS });
  assertEquals(same.revoked, []);
  // From another browser (another SSO session): its own grant, revoked.
  const other = testAdmission({ store, now: () => T0, sessionLimit: limit });
  await other.admission.admitLogin(finished({ sid: "sso-2" }), new RecordingCommander());
  assertEquals(other.revoked, ["rt-offline-1"]);

  // The store cannot say (unreachable): left to idle out at the IdP rather than risk it.
  const down = memoryStore();
  down.putSession = () => Promise.reject(new StoreUnavailableError("Redis down"));
  down.findSessionsBySid = () => Promise.reject(new StoreUnavailableError("Redis down"));
  const unknown = testAdmission({ store: down, now: () => T0 });
  const denied = await unknown.admission.admitLogin(
    finished({ sid: "sso-1" }),
    new RecordingCommander(),
  );
  assertEquals(denied.kind, "denied");
  assertEquals(unknown.revoked, []);
});

/** Warnings about a sign-in that brought no refresh token to re-check with. */
function noRefreshTokenWarnings(logs: CapturedLine[]): CapturedLine[] {
  return logs.filter((l) => l.level === "warning" && l.text.includes("no refresh token"));
}

/** Alice signs in (session `sessionId`) with `refreshToken`; the warnings about its absence. */
function signInWarnings(
  admission: ReturnType<typeof testAdmission>["admission"],
  sessionId: string,
  refreshToken: string | undefined,
): Promise<CapturedLine[]> {
  return logsOf(async () => {
    const outcome = await admission.admitLogin(
      finished({ sessionId, refreshToken }),
      new RecordingCommander(),
    );
    assertEquals(outcome.kind, "admitted");
  }).then(noRefreshTokenWarnings);
}

Deno.test("admitLogin() warns, at most every ten minutes, when a sign-in brings no refresh token and reauth_check = refresh", async () => {
  const clock = new FakeClock(T0);
  const { admission } = testAdmission({
    store: memoryStore(),
    now: clock.now,
    reauthCheck: "refresh",
  });
  const first = await signInWarnings(admission, "s-1", undefined);
  assertEquals(first.length, 1);
  assertStringIncludes(first[0]!.text, "offline_access");
  assertStringIncludes(first[0]!.text, 'access_type = "offline" and prompt = "consent"');
  assertStringIncludes(first[0]!.text, "end at their first re-check");
  assertEquals(first[0]!.properties.rechecks, 'reauth_check = "refresh"');
  // Rate-limited: those within ten minutes of the warning are counted, and told with the
  // warning at ten minutes (README: "at most every 10 minutes").
  assertEquals(await signInWarnings(admission, "s-2", undefined), []);
  clock.advance(10 * 60_000 - 1_000);
  assertEquals(await signInWarnings(admission, "s-3", undefined), [], "9 min 59 s after");
  clock.advance(1_000);
  const later = await signInWarnings(admission, "s-4", undefined);
  assertEquals(later.map((l) => l.properties.more), [2]);
});

Deno.test("admitLogin() warns about a sign-in without a refresh token under recheck_interval too, and not without a re-check or with a token", async () => {
  const periodic = testAdmission({
    store: memoryStore(),
    now: () => T0,
    recheckIntervalMs: 600_000,
  });
  const warned = await signInWarnings(periodic.admission, "s-1", undefined);
  assertEquals(warned.map((l) => l.properties.rechecks), ["recheck_interval"]);

  const withToken = testAdmission({ store: memoryStore(), now: () => T0, reauthCheck: "refresh" });
  assertEquals(await signInWarnings(withToken.admission, "s-1", "rt-1"), []);
  for (const reauthCheck of [undefined, "none"] as const) {
    const unchecked = testAdmission({
      store: memoryStore(),
      now: () => T0,
      ...(reauthCheck ? { reauthCheck } : {}),
    });
    assertEquals(await signInWarnings(unchecked.admission, "s-1", undefined), [], reauthCheck);
  }
});

/** An IdP that must not be asked for a refresh: the tokens presented to it, none expected. */
function unaskedIdp() {
  const asked: string[] = [];
  const refresh = (token: string): Promise<RefreshResult> => {
    asked.push(token);
    return Promise.reject(new Error("No refresh expected in this test"));
  };
  return { asked, refresh };
}

Deno.test("a session without a refresh token ends at its first REAUTH under reauth_check = refresh: denied, the IdP not asked", async () => {
  const idp = unaskedIdp();
  const store = memoryStore();
  const t = testClientEvents({
    store,
    clock: new FakeClock(T0),
    reauthCheck: "refresh",
    refresh: idp.refresh,
  });
  await store.putSession(testSession({ refreshToken: undefined }));
  await t.events.onReauth(4, 3, testEnv({}));
  assertEquals(t.commander.commands, [{
    kind: "deny",
    cid: 4,
    kid: 3,
    reason: NO_REFRESH_TOKEN.logReason,
    clientReason: NO_REFRESH_TOKEN.reason,
  }]);
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals([idp.asked, t.revoked], [[], []]);
  t.events.close();
});

Deno.test("a session without a refresh token ends at its first periodic re-check: its client is killed, the IdP not asked", async () => {
  const idp = unaskedIdp();
  const store = memoryStore();
  const { admission, killed, revoked } = testAdmission({
    store,
    now: () => T0,
    recheckIntervalMs: 600_000,
    refresh: idp.refresh,
  });
  await store.putSession(testSession({ refreshToken: undefined }));
  const recheck = await admission.recheckSession("s-1", "default");
  assertEquals(recheck?.admit === false && recheck.denial, NO_REFRESH_TOKEN);
  assertEquals(killed, [{ kind: "kill", cid: 4, message: "RESTART" }]);
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals([idp.asked, revoked], [[], []]);
});
