import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { StoreFullError } from "../../../src/sessions/store_full.ts";
import {
  INTERNAL_ERROR,
  STORE_UNAVAILABLE,
  USERNAME_MISMATCH,
} from "../../../src/bridge/denial.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import { IdpUnreachableError } from "../../../src/oidc/errors.ts";
import type { PolicyConfig } from "../../../src/bridge/identity_policy.ts";
import { refreshCheckBlindSpot } from "../../../src/bridge/refresh_blind_spot.ts";
import { checkUsername, type UsernamePolicy } from "../../../src/bridge/username_policy.ts";
import type { PendingLogin, Session } from "../../../src/sessions/types.ts";
import {
  EVENTS_T0,
  TEST_POLICY,
  testAdmission,
  testClientEvents,
  testEnv,
  testPendingLogin,
  testSession,
} from "../../support/client_events_fixture.ts";
import { countingMetrics } from "../../support/counting_metrics.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

const T0 = EVENTS_T0;
const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };
const session = (overrides: Partial<Session> = {}) =>
  testSession({ resumable: true, ...overrides });

function refreshed(claims: Record<string, unknown> | undefined): () => Promise<RefreshResult> {
  return () =>
    Promise.resolve({ claims, refreshToken: "rt-2", refreshExpiresAt: undefined, idToken: "x" });
}

function setup(
  options: Parameters<typeof testClientEvents>[0] extends infer O ? Partial<O> : never,
) {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const t = testClientEvents({ store, clock: new FakeClock(T0), ...options });
  const env = testEnv;
  return { ...t, store, env };
}

const GROUP_DENIAL = {
  kind: "deny",
  cid: 4,
  kid: 3,
  reason: "group",
  clientReason: "You are not in a group allowed to use this VPN",
} as const;

Deno.test("a resumed session of a user the current policy no longer admits is denied and ended", async () => {
  for (const [kind, state] of [["connect", "Authenticated"], ["reauth", "Initial"]] as const) {
    const t = setup({});
    // Admitted at sign-in; the policy was tightened since (allowed_groups no longer has /other).
    await t.store.putSession(session({ claims: { ...ALICE, groups: ["/other"] } }));
    const env = t.env({ session_state: state });
    if (kind === "connect") await t.events.onConnect(4, 3, env);
    else await t.events.onReauth(4, 3, env);
    assertEquals(t.commander.commands, [GROUP_DENIAL], kind);
    assertEquals(await t.store.getSession("s-1"), undefined);
    assertEquals(t.revoked, ["rt-1"]);
    t.events.close();
  }
});

Deno.test("a resumed session still admitted gets its group's lines under the current policy", async () => {
  const policy: PolicyConfig = {
    ...TEST_POLICY,
    clientConfig: [{ groups: ["/vpn-users"], lines: ['push "route 10.1.0.0 255.255.0.0"'] }],
  };
  const t = setup({ policy });
  await t.store.putSession(session());
  await t.events.onConnect(9, 1, t.env({ session_state: "Authenticated", username: "alice" }));
  assertEquals(t.commander.commands, [{
    kind: "auth",
    cid: 9,
    kid: 1,
    // The session's lifetime left (an hour): OpenVPN ends the client then, REAUTH or none.
    lines: ['push "route 10.1.0.0 255.255.0.0"', "session-timeout 3600"],
  }]);
  assertEquals((await t.store.getSession("s-1"))?.cid, 9);
  t.events.close();
});

const ROLE_POLICY: PolicyConfig = {
  oidc: {
    usernameClaim: "preferred_username",
    groupsClaim: "groups",
    rolesClaim: "resource_access.openvpn.roles",
  },
  authorization: {
    allowedGroups: [],
    allowedRoles: ["vpn-user"],
    requiredClaims: { vpn_access: true },
    commonNameClaim: undefined,
  },
  clientConfig: [],
};
const ROLE_USER = {
  sub: "u-1",
  preferred_username: "alice",
  resource_access: { openvpn: { roles: ["vpn-user"] } },
  vpn_access: true,
};

Deno.test("refresh check: a claim the IdP now leaves out counts as none, not as before", async () => {
  // Keycloak omits empty claims: no groups, no resource_access.<client>, no attribute.
  const cases: Array<[string, PolicyConfig, Record<string, unknown>, Record<string, unknown>]> = [
    ["group", TEST_POLICY, ALICE, { sub: "u-1", preferred_username: "alice" }],
    ["role", ROLE_POLICY, ROLE_USER, { sub: "u-1", preferred_username: "alice", vpn_access: true }],
    ["claim", ROLE_POLICY, ROLE_USER, {
      sub: "u-1",
      preferred_username: "alice",
      resource_access: { openvpn: { roles: ["vpn-user"] } },
    }],
  ];
  for (const [code, policy, atLogin, now] of cases) {
    const t = setup({ policy, reauthCheck: "refresh", refresh: refreshed(now) });
    await t.store.putSession(session({ claims: atLogin }));
    await t.events.onReauth(4, 3, t.env({}));
    assertEquals(t.commander.commands[0]?.kind, "deny", code);
    assertEquals((t.commander.commands[0] as { reason: string }).reason, code);
    assertEquals(await t.store.getSession("s-1"), undefined, code);
    // The refresh rotated the token: the new one is what the IdP must forget.
    assertEquals(t.revoked, ["rt-2"], code);
    t.events.close();
  }
});

Deno.test("refresh check: an admitted REAUTH stores what the IdP says now and is logged as a refresh", async () => {
  const t = setup({
    reauthCheck: "refresh",
    refresh: refreshed({ ...ALICE, groups: ["/vpn-users", "/new"] }),
  });
  await t.store.putSession(session());
  const logs = await logsOf(() => t.events.onReauth(4, 3, t.env({})));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 3 }]);
  const stored = await t.store.getSession("s-1");
  assertEquals(stored?.refreshToken, "rt-2");
  assertEquals(stored?.groups, ["/vpn-users", "/new"]);
  const line = logs.find((l) => l.text.includes("REAUTH") || l.text.includes("reauth"));
  assertEquals(
    line?.text,
    "REAUTH of alice (cid 4) accepted after a refresh at the identity provider",
  );
  assertEquals(line?.level, "info");
  t.events.close();
});

Deno.test("refresh check: a refresh without claims (no ID token, no userinfo) is judged on the stored claims, with a warning", async () => {
  const t = setup({ reauthCheck: "refresh", refresh: refreshed(undefined) });
  await t.store.putSession(session());
  const logs = await logsOf(() => t.events.onReauth(4, 3, t.env({})));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 3 }]);
  assert(logs.some((l) => l.level === "warning" && l.text.includes("brought no claims")));
  t.events.close();
});

Deno.test("recheckSession() re-checks a stored session at the IdP without a management event", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  let answer = refreshed(ALICE);
  const { admission, revoked, killed } = testAdmission({
    store,
    now: () => T0,
    refresh: () => answer(),
  });
  await store.putSession(session());
  const admitted = await admission.recheckSession("s-1", "default");
  assertEquals(admitted?.admit, true);
  assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-2");
  assertEquals((await store.getSession("s-1"))?.cid, 4);
  assertEquals(killed, []);

  answer = refreshed({ sub: "u-1", preferred_username: "alice" });
  const logs = await logsOf(async () => {
    const denied = await admission.recheckSession("s-1", "default");
    assertEquals(denied?.admit, false);
    assertEquals(denied?.admit === false && denied.denial.code, "group");
    assertEquals(denied?.session.cid, 4);
  });
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals(killed, [{ kind: "kill", cid: 4, message: "RESTART" }]);
  assertEquals(revoked, ["rt-2"]);
  const ended = logs.filter((l) => l.category === "audit");
  assertEquals(ended.map((l) => [l.properties.event, l.properties.reason]), [
    ["session_ended", "recheck_failed"],
    ["recheck_denied", "group"],
  ]);
  assertEquals(await admission.recheckSession("s-1", "default"), undefined);
});

Deno.test("recheckSession() leaves a session no longer bound there alone (client gone, or moved)", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  // Any refresh fails the test: nothing may be asked of the IdP.
  const { admission, revoked, killed } = testAdmission({ store, now: () => T0 });
  await store.putSession(session({ cid: undefined }));
  assertEquals(await admission.recheckSession("s-1", "default"), undefined);
  await store.putSession(session({ server: "other" }));
  assertEquals(await admission.recheckSession("s-1", "default"), undefined);
  assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-1");
  assertEquals([revoked, killed], [[], []]);
});

Deno.test("recheckSession() with the IdP unreachable follows idp_unreachable and keeps the session", async () => {
  for (const idpUnreachable of ["deny", "allow"] as const) {
    const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
    const { admission, revoked, killed } = testAdmission({
      store,
      now: () => T0,
      idpUnreachable,
      refresh: () => Promise.reject(new IdpUnreachableError("connect ECONNREFUSED")),
    });
    await store.putSession(session());
    const result = await admission.recheckSession("s-1", "default");
    assertEquals(result?.admit, idpUnreachable === "allow", idpUnreachable);
    assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-1", idpUnreachable);
    assertEquals(revoked, [], idpUnreachable);
    // "deny" disconnects (as a REAUTH would be denied) but keeps the session to resume later.
    const kills = idpUnreachable === "deny" ? [{ kind: "kill", cid: 4, message: "RESTART" }] : [];
    assertEquals(killed, kills, idpUnreachable);
  }
});

Deno.test("checkUsername() applies openvpn.username_policy", () => {
  const alice = { username: "alice" };
  assertEquals(checkUsername("match", "alice", alice), {});
  assertEquals(checkUsername("match", "", alice).denial?.code, "username_mismatch");
  assertEquals(checkUsername("match", "bob", alice).denial?.code, "username_mismatch");
  assertEquals(checkUsername("empty_or_match", "", alice), {});
  assertEquals(checkUsername("empty_or_match", "alice", alice), {});
  assertEquals(checkUsername("empty_or_match", "bob", alice).denial?.code, "username_mismatch");
  assertEquals(checkUsername("any", "bob", alice), { warn: true });
  assertEquals(checkUsername("any", "", alice), { warn: true });
  // No client asking (the periodic re-check): nothing to compare.
  assertEquals(checkUsername("match", undefined, alice), {});
});

function pending(overrides: Partial<PendingLogin> = {}): PendingLogin {
  return testPendingLogin({ commonName: "laptop", ...overrides });
}

/** The admission step's view of a pending login the IdP has just finished with `claims`. */
function finished(login: PendingLogin, claims: Record<string, unknown>) {
  return {
    client: {
      ...login,
      kind: "login" as const,
      signIn: { loginId: login.id, openvpnRun: login.openvpnRun },
    },
    sessionId: login.sessionId,
    result: {
      claims,
      subject: "u-1",
      sid: undefined,
      refreshToken: "rt-1",
      refreshExpiresAt: undefined,
      idToken: "x",
    },
  };
}

Deno.test("a login whose OpenVPN user name differs from the identity is halted (empty_or_match), or admitted with a warning (any)", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const strict = testAdmission({ store, now: () => T0 });
  const commander = new RecordingCommander();
  const denied = await strict.admission.admitLogin(
    finished(pending({ username: "bob" }), ALICE),
    commander,
  );
  assertEquals(denied.kind === "denied" && denied.denial.code, "username_mismatch");
  // The same name is refused again at a retry: the client is halted (refusal.ts).
  assertEquals(commander.commands[0]?.kind, "halt");
  assertEquals(await store.getSession("s-1"), undefined);

  const lax = testAdmission({ store, now: () => T0, usernamePolicy: "any" });
  const logs = await logsOf(async () => {
    const admitted = await lax.admission.admitLogin(
      finished(pending({ username: "bob" }), ALICE),
      commander,
    );
    assertEquals(admitted, { kind: "admitted", username: "alice" });
  });
  // The session carries the IdP identity, and the warning names both.
  assertEquals((await store.getSession("s-1"))?.username, "alice");
  const warning = logs.find((l) => l.level === "warning");
  assertEquals(
    warning?.text,
    "alice signed in for OpenVPN user name bob (cid 4): openvpn.username_policy = any",
  );
});

Deno.test("a sign-in admitted without the lines of a [[client_config]] rule whose group it has in another form is warned about once", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const policy: PolicyConfig = {
    ...TEST_POLICY,
    clientConfig: [{ groups: ["vpn-admins"], lines: ['push "route 10.9.0.0 255.255.0.0"'] }],
  };
  const { admission } = testAdmission({ store, now: () => T0, policy });
  const commander = new RecordingCommander();
  const nestedAdmin = { ...ALICE, groups: ["/vpn-users", "/staff/vpn-admins"] };
  const logs = await logsOf(async () => {
    const admitted = await admission.admitLogin(finished(pending(), nestedAdmin), commander);
    assertEquals(admitted, { kind: "admitted", username: "alice" });
  });
  const warnings = logs.filter((l) => l.level === "warning").map((l) => l.text);
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assertStringIncludes(
    warnings[0]!,
    'alice signed in (cid 4) without the lines of a [[client_config]] rule that may be meant for them: groups claim has ".../vpn-admins"; a [[client_config]] rule has "vpn-admins"',
  );
  // The same user in the group as written: the lines go out, nothing is said.
  await store.deleteSession("s-1");
  const quiet = await logsOf(async () => {
    await admission.admitLogin(
      finished(pending(), { ...ALICE, groups: ["/vpn-users", "/vpn-admins"] }),
      commander,
    );
  });
  assertEquals(quiet.filter((l) => l.level === "warning").map((l) => l.text), []);
});

Deno.test("a token reconnect through another server is held to that server's username_policy: a name other than the session's user is denied there, the session kept where it was", async () => {
  const t = setup({ server: "tcp", usernamePolicy: "match" });
  await t.store.putSession(session({ server: "udp", cid: 4 }));
  const reconnect = (username: string) =>
    t.events.onConnect(9, 0, t.env({ session_state: "Authenticated", username }));
  await reconnect("bob");
  assertEquals(t.commander.commands, [{
    kind: "deny",
    cid: 9,
    kid: 0,
    reason: USERNAME_MISMATCH.match.logReason,
    clientReason: USERNAME_MISMATCH.match.reason,
  }]);
  const kept = await t.store.getSession("s-1");
  assertEquals([kept?.server, kept?.cid, kept?.refreshToken], ["udp", 4, "rt-1"]);
  assertEquals(t.revoked, []);
  // The control: the session's own user name resumes there, and the session moves.
  await reconnect("alice");
  assertEquals(t.commander.commands[1], {
    kind: "auth",
    cid: 9,
    kid: 0,
    lines: ["session-timeout 3600"],
  });
  const moved = await t.store.getSession("s-1");
  assertEquals([moved?.server, moved?.cid], ["tcp", 9]);
  t.events.close();
});

Deno.test("a REAUTH is judged by the username_policy running now: one a reload tightened denies it and ends the session", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  // Read at each decision, as the daemon reads the reloaded configuration.
  let usernamePolicy: UsernamePolicy = "any";
  const { admission, revoked } = testAdmission({
    store,
    now: () => T0,
    get usernamePolicy() {
      return usernamePolicy;
    },
  });
  await store.putSession(session());
  const commander = new RecordingCommander();
  const reauth = (kid: number) =>
    admission.sessionLock.run("s-1", async () => {
      const stored = await store.getSession("s-1");
      assert(stored !== undefined, "no session to resume");
      const client = {
        kind: "reauth",
        server: "default",
        cid: 4,
        kid,
        commonName: "alice",
        clientIp: "198.51.100.7",
        username: "bob",
      } as const;
      return await admission.resume(client, stored, commander, { resumable: true, refresh: false });
    });
  await reauth(1);
  assertEquals(commander.commands, [{ kind: "auth-nt", cid: 4, kid: 1 }]);

  usernamePolicy = "empty_or_match";
  await reauth(2);
  assertEquals(commander.commands[1], {
    kind: "deny",
    cid: 4,
    kid: 2,
    reason: USERNAME_MISMATCH.empty_or_match.logReason,
    clientReason: USERNAME_MISMATCH.empty_or_match.reason,
  });
  assertEquals(await store.getSession("s-1"), undefined);
  assertEquals(revoked, ["rt-1"]);
});

/** Admission with `max_per_user = 1`; `ended` records what the limit ended, as SessionEnd would. */
function limitedToOne(store: MemoryStore, action: "deny_new" | "kill_oldest") {
  const ended: string[][] = [];
  const { admission } = testAdmission({
    store,
    now: () => T0,
    sessionLimit: {
      maxPerUser: 1,
      action,
      end: (ids) => {
        ended.push(ids);
        return Promise.all(ids.map((id) => store.deleteSession(id))).then(() => ids.length);
      },
    },
  });
  return { admission, ended };
}

/**
 * A memory store whose subject lookups answer a moment after they read, as a file or Redis
 * store's do: two sign-ins at once both read before either stores, unless something orders them.
 */
function slowLookupStore(): MemoryStore {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const find = store.findSessionsBySubject.bind(store);
  store.findSessionsBySubject = async (subject) => {
    const found = await find(subject);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return found;
  };
  return store;
}

/**
 * Alice signs in twice at the same moment, through `first` and `second` (one Admission, or two
 * instances' each), under max_per_user = 1: exactly one of the two counts the other.
 */
async function assertCountedOneAfterTheOther(
  store: MemoryStore,
  action: "deny_new" | "kill_oldest",
  first: ReturnType<typeof limitedToOne>,
  second: ReturnType<typeof limitedToOne>,
): Promise<void> {
  const outcomes = await Promise.all([
    first.admission.admitLogin(
      finished(pending({ sessionId: "s-a", cid: 4 }), ALICE),
      new RecordingCommander(),
    ),
    second.admission.admitLogin(
      // Another device: the same certificate's session would be replaced, not counted.
      finished(pending({ id: "L2", sessionId: "s-b", cid: 5, commonName: "phone" }), ALICE),
      new RecordingCommander(),
    ),
  ]);
  const sessions = (await store.findSessionsBySubject("u-1")).map((s) => s.sessionId);
  if (action === "deny_new") {
    assertEquals(outcomes.map((o) => o.kind), ["admitted", "denied"], action);
    assertEquals(sessions, ["s-a"], action);
  } else {
    assertEquals(outcomes.map((o) => o.kind), ["admitted", "admitted"], action);
    const ended = first === second ? first.ended : [...first.ended, ...second.ended];
    assertEquals(ended, [["s-a"]], action);
    assertEquals(sessions, ["s-b"], action);
  }
}

Deno.test("max_per_user: two sign-ins of one user at the same moment are counted one after the other", async () => {
  for (const action of ["deny_new", "kill_oldest"] as const) {
    const store = slowLookupStore();
    const one = limitedToOne(store, action);
    await assertCountedOneAfterTheOther(store, action, one, one);
  }
});

Deno.test("max_per_user: two instances sharing a store count one sign-in of a user at a time, by the store's lock", async () => {
  for (const action of ["deny_new", "kill_oldest"] as const) {
    const store = slowLookupStore();
    // The lock a shared store (Redis) holds for every instance: one name, one holder.
    const held = new KeyedLock();
    const names: string[] = [];
    store.exclusive = (name, work) => {
      names.push(name);
      return held.run(name, work);
    };
    // Two instances: each its own Admission (and its own in-process lock).
    await assertCountedOneAfterTheOther(
      store,
      action,
      limitedToOne(store, action),
      limitedToOne(store, action),
    );
    assertEquals(names, ["max_per_user\0u-1", "max_per_user\0u-1"], action);
  }
});

Deno.test("a sign-in whose session the store refuses for another reason (full, a bug) is denied too, with the reason it can say", async () => {
  for (
    const [failure, reason] of [
      [new StoreFullError("sessions", 1), STORE_UNAVAILABLE.reason],
      [new Error("a bug"), INTERNAL_ERROR.reason],
    ] as const
  ) {
    const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
    store.putSession = () => Promise.reject(failure);
    const commander = new RecordingCommander();
    const outcome = await testAdmission({ store, now: () => T0 }).admission.admitLogin(
      finished(pending({ sessionId: "s-a", cid: 4 }), ALICE),
      commander,
    );
    assertEquals(outcome.kind, "denied", failure.message);
    assertEquals(
      commander.commands.map((c) => c.kind === "deny" ? c.clientReason : c.kind),
      [reason],
    );
  }
});

Deno.test("a sign-in whose session cannot be stored (store or its per-user lock unreachable) is denied, not left waiting", async () => {
  for (const limited of [false, true]) {
    const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
    const unreachable = () => Promise.reject(new StoreUnavailableError("Redis down"));
    store.putSession = unreachable;
    store.exclusive = unreachable;
    const admission = limited
      ? limitedToOne(store, "kill_oldest").admission
      : testAdmission({ store, now: () => T0 }).admission;
    const commander = new RecordingCommander();
    const outcome = await admission.admitLogin(
      finished(pending({ sessionId: "s-a", cid: 4 }), ALICE),
      commander,
    );
    assertEquals(outcome.kind, "denied", String(limited));
    assertEquals(commander.commands.map((c) => c.kind), ["deny"], String(limited));
  }
});

Deno.test("a sign-in the session store could not keep (unreachable, full) counts as a failed sign-in, not a refusal of the user", async () => {
  for (
    const [failure, code] of [
      [new StoreUnavailableError("Redis down"), "store_unavailable"],
      [new StoreFullError("sessions", 1), "store_unavailable"],
      [new Error("a bug"), "internal_error"],
    ] as const
  ) {
    const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
    store.putSession = () => Promise.reject(failure);
    const counted: string[] = [];
    const { admission } = testAdmission({
      store,
      now: () => T0,
      metrics: countingMetrics(counted),
    });
    await admission.admitLogin(finished(pending(), ALICE), new RecordingCommander());
    assertEquals(counted, ["login error", `denial ${code}`], failure.message);
  }
});

Deno.test("max_per_user = kill_oldest: a sign-in whose client-auth OpenVPN did not confirm still ends the oldest session (OpenVPN may yet admit it)", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  await store.putSession(session({ sessionId: "s-old", subject: "u-1", createdAt: T0 - 1000 }));
  const { admission, ended } = limitedToOne(store, "kill_oldest");
  const silent = Object.assign(new RecordingCommander(), {
    auth: () => Promise.reject(new ManagementConnectionError("timeout", "no reply in time")),
  });
  const outcome = await admission.admitLogin(
    finished(pending({ sessionId: "s-new", cid: 5 }), ALICE),
    silent,
  );
  assertEquals(outcome.kind, "no-answer");
  assertEquals(ended, [["s-old"]]);
  assertEquals((await store.getSession("s-new"))?.cid, 5);
});

Deno.test("a denial because the groups claim is absent entirely says so, names the claims present, and suggests the fix", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const { admission } = testAdmission({ store, now: () => T0 });
  const logs = await logsOf(async () => {
    await admission.admitLogin(
      finished(pending(), { sub: "u-1", preferred_username: "alice", email: "secret@example.com" }),
      new RecordingCommander(),
    );
    // Present but lacking the group: no such diagnosis.
    await admission.admitLogin(
      finished(pending({ sessionId: "s-2" }), { ...ALICE, groups: ["/other"] }),
      new RecordingCommander(),
    );
  });
  const denials = logs.filter((l) => l.category !== "audit" && l.text.includes("denied"));
  assertEquals(denials.length, 2);
  const [absent, lacking] = denials.map((l) => l.text);
  assertStringIncludes(absent!, 'denied: group; the groups claim "groups" is missing');
  assertStringIncludes(absent!, '(claims present: "sub", "preferred_username", "email")');
  assertStringIncludes(absent!, "group membership mapper");
  assert(!absent!.includes("secret@example.com"), absent);
  assertEquals(
    lacking,
    "Sign-in of alice (cid 4, certificate laptop) denied: group",
  );
});

Deno.test("refreshCheckBlindSpot() warns when a refresh check, at REAUTH or periodic, may get neither ID token nor userinfo", () => {
  const none = { reauthCheck: "none", recheckIntervalMs: undefined } as const;
  const atReauth = refreshCheckBlindSpot({}, { ...none, reauthCheck: "refresh" });
  assertStringIncludes(atReauth ?? "", 'sessions.reauth_check = "refresh" but');
  assertStringIncludes(atReauth ?? "", "no userinfo endpoint");
  const periodic = refreshCheckBlindSpot({}, { ...none, recheckIntervalMs: 600_000 });
  assertStringIncludes(periodic ?? "", "sessions.recheck_interval but");
  assertStringIncludes(periodic ?? "", "no userinfo endpoint");
  assertStringIncludes(
    refreshCheckBlindSpot({}, { reauthCheck: "refresh", recheckIntervalMs: 600_000 }) ?? "",
    'sessions.reauth_check = "refresh" and sessions.recheck_interval but',
  );
  assertEquals(
    refreshCheckBlindSpot({ userinfo_endpoint: "https://idp/userinfo" }, {
      reauthCheck: "refresh",
      recheckIntervalMs: 600_000,
    }),
    undefined,
  );
  assertEquals(refreshCheckBlindSpot({}, none), undefined);
});

Deno.test("a sign-in binds its session to the cid in the OpenVPN run the sign-in began in; a run OpenVPN did not tell is not recorded", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const { admission } = testAdmission({ store, now: () => T0 });
  const run = "4242@1795878880:CONNECTED";
  await admission.admitLogin(
    finished(pending({ sessionId: "s-run", cid: 5, openvpnRun: run }), ALICE),
    new RecordingCommander(),
  );
  const bound = await store.getSession("s-run");
  assertEquals([bound?.cid, bound?.openvpnRun], [5, run]);
  // OpenVPN did not tell its run (SignIns gives the link one of its own): the binding is judged
  // by its cid alone, as one stored by an older version.
  for (const [id, openvpnRun] of [["s-unknown", "unknown:0b1f"], ["s-none", undefined]] as const) {
    await admission.admitLogin(
      finished(pending({ sessionId: id, cid: 6, ...(openvpnRun ? { openvpnRun } : {}) }), ALICE),
      new RecordingCommander(),
    );
    const session = await store.getSession(id);
    assertEquals(session?.cid, 6);
    assert(session && !("openvpnRun" in session), id);
  }
});
