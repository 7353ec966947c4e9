import { assert, assertEquals, assertRejects } from "../../support/assert.ts";
import { SIGN_IN_TIMED_OUT, UNKNOWN_SESSION } from "../../../src/bridge/denial.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { IdpRejectedError, IdpUnreachableError, OidcError } from "../../../src/oidc/errors.ts";
import {
  settle,
  TEST_POLICY,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { captureLogs, logsOf } from "../../support/log_capture.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

const T0 = 1_800_000_000_000;

const session = testSession;

/** The IdP's answer to a refresh: alice still in her group, the token rotated to rt-2. */
const STILL_ALLOWED: RefreshResult = {
  claims: { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] },
  refreshToken: "rt-2",
  refreshExpiresAt: undefined,
  idToken: undefined,
};

function setup(
  options: {
    reauthCheck?: "none" | "refresh";
    idpUnreachable?: "deny" | "allow";
    refresh?: () => Promise<RefreshResult>;
    revoke?: () => Promise<void>;
  } = {},
) {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const { events, commander, revoked, admission } = testClientEvents({
    store,
    clock: new FakeClock(T0),
    newLoginId: () => "AAAAAAAAAAAAAAAAAAAAAA",
    ...options,
  });
  const env = testEnv;
  return { store, commander, events, revoked, env, admission };
}

Deno.test("CONNECT announces the login URL with the deadline plus grace", async () => {
  const t = setup();
  await t.events.onConnect(9, 1, t.env({ session_id: "s-new" }));
  assertEquals(t.commander.commands, [{
    kind: "pending",
    cid: 9,
    kid: 1,
    url: "https://vpn.example.com/login/AAAAAAAAAAAAAAAAAAAAAA",
    timeoutSec: 65,
  }]);
  assertEquals((await t.store.getPending("AAAAAAAAAAAAAAAAAAAAAA"))?.cid, 9);
  t.events.close();
});

Deno.test("the sign-in keeps the client's platform and version only when they look like one (the confirm page repeats them)", async () => {
  const cases: Array<[Record<string, string>, string, string]> = [
    [{ IV_PLAT: "linux", IV_VER: "2.6.14" }, "linux", "2.6.14"],
    [{ IV_PLAT: "ios", IV_VER: "3.git::d3f8b18b" }, "ios", "3.git::d3f8b18b"],
    [{ IV_PLAT: "Verified_by_IT:_this_is_your_own_laptop", IV_VER: "safe_to_continue" }, "", ""],
    [{ IV_PLAT: "win", IV_VER: "2.7_rc1" }, "win", "2.7_rc1"],
    [{ IV_VER: "2_Verified_by_IT:_your_own_laptop" }, "", ""],
    [{ IV_VER: "2.6.14-built-here-long" }, "", ""],
    [{ IV_VER: "2".repeat(41) }, "", ""],
  ];
  for (const [reported, platform, version] of cases) {
    const t = setup();
    await t.events.onConnect(9, 1, t.env({ session_id: "s-new", ...reported }));
    const login = await t.store.getPending("AAAAAAAAAAAAAAAAAAAAAA");
    assertEquals([login?.platform, login?.clientVersion], [platform, version]);
    t.events.close();
  }
});

Deno.test("a sign-in not finished within auth_pending_timeout is halted once the clock passes it", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const { events, commander } = testClientEvents({ store, clock, authPendingTimeoutMs: 60_000 });
  await events.onConnect(3, 1, testEnv({ untrusted_ip: "192.0.2.10" }));
  clock.advance(59_999);
  await settle();
  assertEquals(commander.commands.map((command) => command.kind), ["pending"]);
  const logs = captureLogs();
  try {
    clock.advance(1);
    await settle();
  } finally {
    logs.stop();
  }
  // HALT, not client-deny: a retry would open another browser tab for nobody (refusal.ts).
  assertEquals(commander.commands[1], {
    kind: "halt",
    cid: 3,
    kid: 1,
    reason: SIGN_IN_TIMED_OUT.logReason,
    clientReason: SIGN_IN_TIMED_OUT.reason,
  });
  // A denial like any other in the audit log: the client alone, as nobody signed in (what does
  // not apply is null).
  const audited = logs.lines.filter((line) => line.category === "audit").map((line) =>
    Object.fromEntries(Object.entries(line.properties).filter(([, value]) => value !== null))
  );
  assertEquals(audited, [{
    event: "denied",
    username: "",
    subject: "",
    server: "default",
    cid: 3,
    commonName: "alice",
    clientIp: "192.0.2.10",
    reason: "timeout",
  }]);
  events.close();
  assertEquals(clock.pendingTimers, 0);
});

Deno.test("refresh check: an unreachable IdP denies by default", async () => {
  const t = setup({
    reauthCheck: "refresh",
    refresh: () => Promise.reject(new IdpUnreachableError("ECONNREFUSED")),
  });
  await t.store.putSession(session());
  await t.events.onReauth(4, 3, t.env({}));
  assertEquals(t.commander.commands[0]?.kind, "deny");
  t.events.close();
});

Deno.test("refresh check: idp_unreachable = allow keeps the user on the stored session", async () => {
  const t = setup({
    reauthCheck: "refresh",
    idpUnreachable: "allow",
    refresh: () => Promise.reject(new IdpUnreachableError("ECONNREFUSED")),
  });
  await t.store.putSession(session());
  await t.events.onReauth(4, 3, t.env({}));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 3 }]);
  assertEquals((await t.store.getSession("s-1"))?.refreshToken, "rt-1");
  t.events.close();
});

Deno.test("refresh check: a rejected refresh token (user disabled) denies and ends the session", async () => {
  const t = setup({
    reauthCheck: "refresh",
    idpUnreachable: "allow",
    refresh: () => Promise.reject(new IdpRejectedError("invalid_grant")),
  });
  await t.store.putSession(session());
  await t.events.onReauth(4, 3, t.env({}));
  assertEquals(t.commander.commands[0]?.kind, "deny");
  assertEquals(await t.store.getSession("s-1"), undefined);
  // The session ended because of the refresh: the IdP is told to forget the token too.
  assertEquals(t.revoked, ["rt-1"]);
  t.events.close();
});

Deno.test("refresh check: a refresh the IdP refused for the client, not the grant (rotated secret), denies and keeps the session, even with idp_unreachable = allow", async () => {
  const t = setup({
    reauthCheck: "refresh",
    idpUnreachable: "allow",
    refresh: () =>
      Promise.reject(
        new OidcError(
          "idp_error",
          "IdP refused the refresh request itself (HTTP 401 invalid_client)",
        ),
      ),
  });
  await t.store.putSession(session());
  await t.events.onReauth(4, 3, t.env({}));
  assertEquals(t.commander.commands.map((c) => c.kind), ["deny"]);
  // Kept, with its token, for when the client's settings are mended: no browser needed then.
  assertEquals((await t.store.getSession("s-1"))?.refreshToken, "rt-1");
  assertEquals(t.revoked, []);
  t.events.close();
});

/**
 * Session s-1 bound to cid 4 (in run-1), and its REAUTH waiting for the refresh at the IdP
 * (reauth_check = "refresh"), which `answer` gives.
 */
async function reauthAwaitingRefresh() {
  let answer!: (result: RefreshResult) => void;
  const t = setup({
    reauthCheck: "refresh",
    refresh: () => new Promise((resolve) => (answer = resolve)),
  });
  await t.events.openvpnRunIs("run-1");
  await t.store.putSession(session());
  const handling = t.events.onReauth(4, 3, t.env({}));
  await settle();
  return { t, handling, answer: (result: RefreshResult) => answer(result) };
}

Deno.test("refresh check: a session ended elsewhere while the IdP answered (another bridge instance revoked it) is not brought back", async () => {
  const { t, handling, answer } = await reauthAwaitingRefresh();
  // The other instance's revoke: straight to the shared store, outside this process's locks.
  await t.store.deleteSession("s-1");
  answer(STILL_ALLOWED);
  await handling;
  assertEquals(t.commander.commands.map((c) => c.kind), ["deny"]);
  assertEquals(await t.store.getSession("s-1"), undefined);
  // The token the IdP issued meanwhile is nobody's: revoked.
  assertEquals(t.revoked, ["rt-2"]);
  t.events.close();
});

Deno.test("refresh check: no answer goes out when OpenVPN restarted while the IdP was asked (the cid and kid name another client now)", async () => {
  for (const restarted of [false, true]) {
    const { t, handling, answer } = await reauthAwaitingRefresh();
    if (restarted) await t.events.openvpnRunIs("run-2");
    answer(STILL_ALLOWED);
    await handling;
    assertEquals(
      t.commander.commands.map((c) => c.kind),
      restarted ? [] : ["auth-nt"],
      restarted ? "restarted" : "same run",
    );
    // Refreshed either way (the IdP rotated the token); after a restart no longer bound to
    // cid 4, which names another client in the new run.
    const stored = await t.store.getSession("s-1");
    assertEquals([stored?.refreshToken, stored?.cid], ["rt-2", restarted ? undefined : 4]);
    t.events.close();
  }
});

/**
 * OpenVPN restarts in place (SIGHUP: the link stays up, cids start from 0 again) while an event
 * waits for its session's lock (a periodic re-check holds it across an IdP request), or for the
 * store: its cid and kid may name a stranger by the time it is judged. Nothing is sent to them,
 * and no session is left bound to their cid.
 */
function sessionHeld(t: ReturnType<typeof setup>) {
  let release!: () => void;
  const held = t.admission.sessionLock.run("s-1", () => new Promise<void>((r) => (release = r)));
  /** Releases the lock once the event waits for it, OpenVPN having restarted or not. */
  return async (restart: boolean) => {
    await settle();
    if (restart) await t.events.openvpnRunIs("run-2");
    release();
    await held;
  };
}

/**
 * In run-1, s-1's client comes back on cid 2 with its token while s-1's lock is held: the
 * reconnect waits for it until `release`.
 */
async function heldTokenReconnect(t: ReturnType<typeof setup>) {
  await t.events.openvpnRunIs("run-1");
  await t.store.putSession(session({ cid: undefined, resumable: true }));
  const release = sessionHeld(t);
  const handling = t.events.onConnect(
    2,
    1,
    t.env({ session_id: "s-1", session_state: "Authenticated" }),
  );
  return { release, handling };
}

Deno.test("no answer goes out when OpenVPN restarted while a token reconnect waited for its session (the cid and kid name another client now)", async () => {
  for (const restarted of [false, true]) {
    const t = setup();
    const { release, handling } = await heldTokenReconnect(t);
    await release(restarted);
    await handling;
    // Without a restart it is the same client: admitted without a browser.
    assertEquals(t.commander.commands.map((c) => c.kind), restarted ? [] : ["auth"]);
    assertEquals((await t.store.getSession("s-1"))?.cid, restarted ? undefined : 2);
    t.events.close();
  }
});

Deno.test("no HALT goes out when OpenVPN restarted while a client without webauth waited for its session id's lock (the cid names another client now)", async () => {
  for (const restarted of [false, true]) {
    const t = setup();
    await t.events.openvpnRunIs("run-1");
    const release = sessionHeld(t);
    const handling = t.events.onConnect(2, 1, t.env({ session_id: "s-1", IV_SSO: "openurl" }));
    await release(restarted);
    await handling;
    assertEquals(t.commander.commands.map((c) => c.kind), restarted ? [] : ["halt"]);
    t.events.close();
  }
});

Deno.test("a token reconnect whose client left while it was resumed (client-auth refused) leaves the session unbound: no DISCONNECT will come for that cid", async () => {
  const t = setup();
  const { release, handling } = await heldTokenReconnect(t);
  await settle();
  // Its DISCONNECT comes while the session is not bound to cid 2 yet: nothing to do for it.
  await t.events.onDisconnect(2);
  t.commander.failWith = "ERROR: client-auth command failed";
  await release(false);
  await handling.catch(() => {});
  assertEquals(t.commander.commands.map((c) => c.kind), ["auth"]);
  assertEquals((await t.store.getSession("s-1"))?.cid, undefined);
  t.events.close();
});

Deno.test("no answer goes out when OpenVPN restarted while a REAUTH waited for its session; the session is unbound from the old cid", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-1");
  await t.store.putSession(session());
  const release = sessionHeld(t);
  const handling = t.events.onReauth(4, 3, t.env({}));
  await release(true);
  await handling;
  assertEquals(t.commander.commands, []);
  assertEquals((await t.store.getSession("s-1"))?.cid, undefined);
  t.events.close();
});

Deno.test("no answer goes out when OpenVPN restarted while a token reconnect's session was written; it is unbound again", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-1");
  await t.store.putSession(session({ cid: undefined, resumable: true }));
  const update = t.store.updateSession.bind(t.store);
  t.store.updateSession = async (changed) => {
    const written = await update(changed);
    // The store's answer comes after OpenVPN restarted.
    if (changed.cid === 2) await t.events.openvpnRunIs("run-2");
    return written;
  };
  await t.events.onConnect(2, 1, t.env({ session_id: "s-1", session_state: "Authenticated" }));
  assertEquals(t.commander.commands, []);
  assertEquals((await t.store.getSession("s-1"))?.cid, undefined);
  t.events.close();
});

Deno.test("no sign-in begins and nothing is denied later when OpenVPN restarted while a CONNECT waited for its session", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const { events, commander, admission } = testClientEvents({
    store,
    clock,
    newLoginId: () => "AAAAAAAAAAAAAAAAAAAAAA",
  });
  await events.openvpnRunIs("run-1");
  let release!: () => void;
  const held = admission.sessionLock.run("s-9", () => new Promise<void>((r) => (release = r)));
  // A first connection with a session id nobody knows: a browser sign-in.
  const handling = events.onConnect(2, 1, testEnv({ session_id: "s-9" }));
  await settle();
  await events.openvpnRunIs("run-2");
  release();
  await held;
  await handling;
  assertEquals(commander.commands, [], "no sign-in link for the stranger on cid 2");
  assertEquals(await store.getPending("AAAAAAAAAAAAAAAAAAAAAA"), undefined);
  clock.advance(10 * 60_000);
  await settle();
  assertEquals(commander.commands, [], "and no 'not completed in time' for them either");
  events.close();
});

Deno.test("a failure after OpenVPN restarted is not thrown on (the link would deny the cid and kid, another client's now)", async () => {
  const { t, handling, answer } = await reauthAwaitingRefresh();
  await t.events.openvpnRunIs("run-2");
  // The store fails as the refreshed session is written.
  t.store.updateSession = () => Promise.reject(new Error("store blip"));
  answer(STILL_ALLOWED);
  await handling;
  assertEquals(t.commander.commands, []);
  t.events.close();
});

Deno.test("a deny that OpenVPN's restart kept from being sent is neither logged nor audited as one", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-1");
  // No such session: a REAUTH presenting it is denied, once it has its lock.
  const release = sessionHeld(t);
  const lines = await logsOf(async () => {
    const handling = t.events.onReauth(4, 3, t.env({}));
    await release(true);
    await handling;
  });
  assertEquals(t.commander.commands, []);
  assertEquals(lines.filter((line) => line.category === "audit"), []);
  assert(lines.some((line) => line.text.includes("OpenVPN restarted before it was answered")));
  t.events.close();
});

Deno.test("a re-check whose write another instance's came before (the store refuses the stale copy) keeps both: that binding and this refresh token", async () => {
  const t = setup({ refresh: () => Promise.resolve(STILL_ALLOWED) });
  await t.store.putSession(session());
  const update = t.store.updateSession.bind(t.store);
  let raced = false;
  t.store.updateSession = async (changed) => {
    if (!raced) {
      raced = true;
      // The client moved to cid 9 through another instance meanwhile: Redis refuses a write
      // from the copy read before that (the version read, redis_store.ts).
      await update({ ...(await t.store.getSession("s-1"))!, cid: 9, lastAuthAt: T0 + 1 });
      return false;
    }
    return await update(changed);
  };
  const recheck = await t.admission.recheckSession("s-1", "default");
  assertEquals(recheck?.admit, true);
  const stored = await t.store.getSession("s-1");
  assertEquals([stored?.cid, stored?.refreshToken], [9, "rt-2"]);
  assertEquals(t.revoked, [], "the token the IdP just issued is kept, not revoked");
  t.events.close();
});

Deno.test("a token reconnect whose write the store refused because another sign-in replaced the session meanwhile is denied, and the new session is left as it is", async () => {
  const t = setup();
  await t.store.putSession(session({ resumable: true }));
  // The client came back with the same OpenVPN session id and signed in again through another
  // instance: a new session under the same id, created later, bound elsewhere.
  const replacement = session({
    cid: 7,
    resumable: true,
    refreshToken: "rt-new",
    createdAt: T0 + 500,
    lastAuthAt: T0 + 500,
  });
  const update = t.store.updateSession.bind(t.store);
  let raced = false;
  t.store.updateSession = async (changed) => {
    if (!raced) {
      raced = true;
      await t.store.putSession(replacement);
      return false;
    }
    return await update(changed);
  };
  await t.events.onConnect(9, 1, t.env({ session_state: "Authenticated", username: "alice" }));
  assert(raced, "the reconnect wrote nothing");
  assertEquals(t.commander.commands, [{
    kind: "deny",
    cid: 9,
    kid: 1,
    reason: UNKNOWN_SESSION.logReason,
    clientReason: UNKNOWN_SESSION.reason,
  }]);
  assertEquals(await t.store.getSession("s-1"), replacement);
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("a re-check whose refresh was granted with a new token, then failed (userinfo down), keeps the new token: the old one is dead", async () => {
  const failed = new IdpUnreachableError("userinfo: HTTP 503");
  failed.rotated = { refreshToken: "rt-rotated", refreshExpiresAt: undefined };
  const t = setup({ refresh: () => Promise.reject(failed), idpUnreachable: "allow" });
  await t.store.putSession(session());
  const recheck = await t.admission.recheckSession("s-1", "default");
  // idp_unreachable = allow: judged on the session, which now holds the rotated token.
  assertEquals(recheck?.admit, true);
  assertEquals((await t.store.getSession("s-1"))?.refreshToken, "rt-rotated");
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("a DISCONNECT ends every session bound to its cid before it (an earlier run's left beside the client's own), not one", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const { events } = testClientEvents({ store, clock });
  // Left bound to cid 3 by a run whose client list could not be read, and the client's own.
  await store.putSession(session({ sessionId: "s-old", cid: 3, lastAuthAt: T0 }));
  clock.advance(60_000);
  await store.putSession(session({ sessionId: "s-new", cid: 3, lastAuthAt: clock.now() }));
  clock.advance(60_000);
  await events.onDisconnect(3);
  assertEquals([await store.getSession("s-old"), await store.getSession("s-new")], [
    undefined,
    undefined,
  ]);
  events.close();
});

/**
 * OpenVPN restarts in place (SIGHUP) while the DISCONNECT of cid 3, sent for s-a's client of the
 * run before, waits for s-a's lock (a REAUTH's refresh at the IdP holds it), and a client of the
 * new run reconnects with s-b's token as cid 3. The clock stands still unless s-a is bound
 * earlier (`boundAt`): the wall clock cannot tell the two bindings apart.
 */
async function disconnectHeldOverRestart(
  t: ReturnType<typeof setup>,
  runs: {
    bound: string | undefined;
    disconnect: string | undefined;
    reconnect: string | undefined;
  },
  boundAt = T0,
) {
  await t.events.openvpnRunIs(runs.bound);
  await t.store.putSession(
    session({ sessionId: "s-a", cid: 3, openvpnRun: runs.bound, lastAuthAt: boundAt }),
  );
  await t.store.putSession(session({ sessionId: "s-b", cid: undefined, resumable: true }));
  let release!: () => void;
  const held = t.admission.sessionLock.run("s-a", () => new Promise<void>((r) => (release = r)));
  await t.events.openvpnRunIs(runs.disconnect);
  const disconnect = t.events.onDisconnect(3);
  await settle();
  await t.events.openvpnRunIs(runs.reconnect);
  await t.events.onConnect(3, 1, t.env({ session_id: "s-b", session_state: "Authenticated" }));
  assertEquals(t.commander.commands.map((c) => [c.kind, c.cid]), [["auth", 3]]);
  release();
  await held;
  await disconnect;
}

Deno.test("a DISCONNECT held up while OpenVPN restarted in place leaves bound the session a client of the new run reconnected to its cid with, and ends the one bound before it", async () => {
  const t = setup();
  await disconnectHeldOverRestart(t, { bound: "run-1", disconnect: "run-2", reconnect: "run-3" });
  const reconnected = await t.store.getSession("s-b");
  assertEquals([reconnected?.cid, reconnected?.openvpnRun], [3, "run-3"]);
  // Bound before the DISCONNECT, in the same millisecond: its client is gone.
  assertEquals(await t.store.getSession("s-a"), undefined);
  assertEquals(t.revoked, ["rt-1"]);
  t.events.close();
});

Deno.test("a DISCONNECT held up while OpenVPN restarted in runs it did not tell goes by the clock: a session bound in its millisecond or later is left bound", async () => {
  const t = setup();
  const unknown = { bound: undefined, disconnect: undefined, reconnect: undefined };
  await disconnectHeldOverRestart(t, unknown, T0 - 1);
  assertEquals((await t.store.getSession("s-b"))?.cid, 3);
  assertEquals(await t.store.getSession("s-a"), undefined);
  t.events.close();
});

Deno.test("a DISCONNECT tried again after the store failed ends what was bound before it and leaves what a restart's client bound since", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  const { events, admission } = testClientEvents({ store, clock });
  await events.openvpnRunIs("run-1");
  await store.putSession(session({ sessionId: "s-a", cid: 3, openvpnRun: "run-1" }));
  await store.putSession(session({ sessionId: "s-b", cid: undefined, resumable: true }));
  const deletePendingByCid = store.deletePendingByCid.bind(store);
  store.deletePendingByCid = () => Promise.reject(new StoreUnavailableError("test"));
  await logsOf(() => events.onDisconnect(3));
  store.deletePendingByCid = deletePendingByCid;
  // In the same millisecond, OpenVPN restarts and s-b's client reconnects as cid 3.
  await events.openvpnRunIs("run-2");
  await admission.sessionLock.run("s-b", async () => {
    const reconnected = await store.getSession("s-b");
    await store.updateSession({ ...reconnected!, cid: 3, openvpnRun: "run-2", lastAuthAt: T0 });
  });
  clock.advance(1_000);
  await settle();
  assertEquals(await store.getSession("s-a"), undefined);
  assertEquals((await store.getSession("s-b"))?.cid, 3);
  events.close();
});

Deno.test("a token reconnect of a session ended elsewhere meanwhile is denied and not brought back", async () => {
  const t = setup();
  await t.store.putSession(session({ cid: undefined, resumable: true }));
  const update = t.store.updateSession.bind(t.store);
  // The other instance ends it between this one's read and its write.
  t.store.updateSession = async (changed) => {
    await t.store.deleteSession(changed.sessionId);
    return await update(changed);
  };
  await t.events.onConnect(8, 1, t.env({ session_id: "s-1", session_state: "Authenticated" }));
  assertEquals(t.commander.commands.map((c) => c.kind), ["deny"]);
  assertEquals(await t.store.getSession("s-1"), undefined);
  t.events.close();
});

Deno.test("a kill the link could not take is sent when the link is back in the same OpenVPN run, and dropped after a restart", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-1");
  t.events.killWhenLinked(7, "RESTART");
  // The link comes back; OpenVPN tells the same run: cid 7 is still that client.
  await t.events.openvpnRunIs("run-1");
  await settle();
  assertEquals(t.commander.commands, [{ kind: "kill", cid: 7, message: "RESTART" }]);
  // Sent once.
  await t.events.openvpnRunIs("run-1");
  await settle();
  assertEquals(t.commander.commands.length, 1);
  // OpenVPN restarted meanwhile: cid 8 may name another client now.
  t.events.killWhenLinked(8, "RESTART");
  await t.events.openvpnRunIs("run-2");
  await settle();
  assertEquals(t.commander.commands.length, 1);
  t.events.close();
});

Deno.test("a kill tied to its client's run waits for a link that was never up (a new cluster holder) and is sent only in that run", async () => {
  const t = setup();
  // No run told yet: a kill without one has nothing to be tied to and is dropped.
  t.events.killWhenLinked(6, "RESTART");
  t.events.killWhenLinked(7, "RESTART", "run-1");
  t.events.killWhenLinked(8, "RESTART", "run-0");
  await t.events.openvpnRunIs("run-1");
  await settle();
  assertEquals(t.commander.commands, [{ kind: "kill", cid: 7, message: "RESTART" }]);
  t.events.close();
});

Deno.test("DISCONNECT of a certificate-only client ends its session and revokes its refresh token", async () => {
  const t = setup();
  await t.store.putSession(session());
  await t.events.onDisconnect(4);
  assertEquals(await t.store.getSession("s-1"), undefined);
  assertEquals(t.revoked, ["rt-1"]);
  t.events.close();
});

Deno.test("a denial at REAUTH and a DISCONNECT are answered at once while the IdP has not yet taken the revocation", async () => {
  // The revocation waits its turn (src/oidc/request_gate.ts): it never answers in this test.
  const t = setup({
    reauthCheck: "refresh",
    refresh: () => Promise.reject(new IdpRejectedError("invalid_grant")),
    revoke: () => new Promise<void>(() => {}),
  });
  await t.store.putSession(session());
  await t.events.onReauth(4, 3, t.env({}));
  assertEquals(t.commander.commands[0]?.kind, "deny");
  assertEquals(t.revoked, ["rt-1"]);

  await t.store.putSession(session({ sessionId: "s-2", cid: 5, refreshToken: "rt-2" }));
  await t.events.onDisconnect(5);
  assertEquals(await t.store.getSession("s-2"), undefined);
  assertEquals(t.revoked, ["rt-1", "rt-2"]);
  t.events.close();
});

Deno.test("refused revocations are warned about once a minute with how many failed since; the DISCONNECTs are done all the same", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: () => clock.now() });
  const t = testClientEvents({
    store,
    clock,
    revoke: () => Promise.reject(new Error("IdP answered HTTP 503")),
  });
  for (const [i, cid] of [4, 5, 6].entries()) {
    await store.putSession(session({ sessionId: `s-${i}`, cid, refreshToken: `rt-${i}` }));
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const logs = await logsOf(async () => {
    await t.events.onDisconnect(4);
    await settle();
    await t.events.onDisconnect(5);
    await settle();
    clock.advance(60_000);
    await t.events.onDisconnect(6);
    await settle();
  });
  assertEquals(await collectPages(store.sessionPages()), []);
  assertEquals(t.revoked, ["rt-0", "rt-1", "rt-2"]);
  const failures = logs.filter((line) => line.text.startsWith("Could not revoke"));
  assertEquals(failures.map((line) => line.level), ["warning", "debug", "warning"]);
  assertEquals(failures.map((line) => line.properties["more"]), [undefined, undefined, 1]);
  assertEquals(failures.map((line) => /\bmore\b/.test(line.text)), [false, false, true]);
  assertEquals(failures.every((line) => line.text.includes("HTTP 503")), true);
  t.events.close();
});

Deno.test("DISCONNECT of a resumable client keeps the session, unbound, and revokes nothing", async () => {
  const t = setup();
  await t.store.putSession(session({ resumable: true }));
  await t.events.onDisconnect(4);
  const kept = await t.store.getSession("s-1");
  assert(kept !== undefined, "the session of a resumable client was removed");
  assertEquals(kept.cid, undefined);
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("OpenVPN restarted: a new client on a reused cid ends the sign-in pending there, which can neither let it in nor deny it", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 10, now: clock.now });
  const ids = ["AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB"];
  const { events, commander } = testClientEvents({
    store,
    clock,
    authPendingTimeoutMs: 60_000,
    newLoginId: () => ids.shift()!,
  });
  // Alice's client is signing in as cid 0 (a new client's key id is always 1) when OpenVPN
  // restarts, which sends no DISCONNECT; the first client after the restart is cid 0 again.
  await events.onConnect(0, 1, testEnv({ common_name: "alice-laptop", session_id: "s-alice" }));
  clock.advance(30_000);
  await events.onConnect(0, 1, testEnv({ common_name: "bob-laptop", session_id: "s-bob" }));
  // Alice's sign-in is gone: finishing it in her browser finds nothing to send client-auth for.
  assertEquals(await store.getPending("AAAAAAAAAAAAAAAAAAAAAA"), undefined);
  assertEquals((await store.getPending("BBBBBBBBBBBBBBBBBBBBBB"))?.commonName, "bob-laptop");
  // Her deadline passes while Bob signs in: he is not denied for it.
  clock.advance(30_000);
  await settle();
  assertEquals(commander.commands.map((c) => c.kind), ["pending", "pending"]);
  // His own deadline still holds.
  clock.advance(30_000);
  await settle();
  assertEquals(commander.commands.map((c) => c.kind), ["pending", "pending", "halt"]);
  events.close();
});

Deno.test("after a reconnect, stale bindings end but a new client on a reused cid keeps its login", async () => {
  const t = setup();
  await t.store.putSession(session({ sessionId: "old", cid: 0, lastAuthAt: T0 - 60_000 }));
  await t.store.putSession(session({ sessionId: "rebound", cid: 1, lastAuthAt: T0 + 1 }));
  // OpenVPN restarted and reuses cid 0 for a new client, which is signing in.
  await t.events.onConnect(0, 1, t.env({ session_id: "new" }));
  await t.events.forgetClientsExcept(new Set(), T0);
  assertEquals(await t.store.getSession("old"), undefined);
  assertEquals((await t.store.getSession("rebound"))?.cid, 1);
  assertEquals((await t.store.getPending("AAAAAAAAAAAAAAAAAAAAAA"))?.cid, 0);
  t.events.close();
});

/** The ENV of alice's client (user name "alice") reconnecting with session s-1's token. */
function tokenReconnectEnv(): Map<string, string> {
  return testEnv({ username: "alice", session_state: "Authenticated" });
}

/** The policy of a server "admins" that admits only /vpn-admins: alice is not one. */
const ADMINS_ONLY = {
  ...TEST_POLICY,
  authorization: { ...TEST_POLICY.authorization, allowedGroups: ["/vpn-admins"] },
};

Deno.test("a token reconnect through another server resumes there and moves the session", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const clock = new FakeClock(T0 + 1000);
  const udp = testClientEvents({ store, clock, server: "udp" });
  const tcp = testClientEvents({ store, clock, server: "tcp" });
  await store.putSession(session({ server: "udp", cid: 4, resumable: true }));
  // Server udp went away; the client reconnects to tcp with the token udp gave it.
  await tcp.events.onConnect(9, 0, tokenReconnectEnv());
  assertEquals(tcp.commander.commands, [{
    kind: "auth",
    cid: 9,
    kid: 0,
    lines: ["session-timeout 3599"],
  }]);
  const moved = await store.getSession("s-1");
  assertEquals([moved?.server, moved?.cid, moved?.lastAuthAt], ["tcp", 9, T0 + 1000]);

  // udp's late DISCONNECT of the old cid leaves the moved session alone.
  await udp.events.onDisconnect(4);
  assertEquals((await store.getSession("s-1"))?.cid, 9);
  assertEquals([udp.revoked, tcp.revoked], [[], []]);

  // Renegotiation is accepted on tcp, and a client with cid 4 on udp cannot claim the session.
  await tcp.events.onReauth(9, 1, tokenReconnectEnv());
  await udp.events.onReauth(4, 1, tokenReconnectEnv());
  assertEquals(tcp.commander.commands[1], { kind: "auth-nt", cid: 9, kid: 1 });
  assertEquals(udp.commander.commands.map((command) => command.kind), ["deny"]);
  assertEquals(await store.findSessionIdByCid("tcp", 9), "s-1");
  udp.events.close();
  tcp.events.close();
});

Deno.test("a token reconnect is judged by the new server's policy: denied there, kept where it was", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const clock = new FakeClock(T0 + 1000);
  const admins = testClientEvents({
    store,
    clock,
    server: "admins",
    policy: ADMINS_ONLY,
  });
  await store.putSession(session({ server: "udp", cid: 4, resumable: true }));
  await admins.events.onConnect(9, 0, tokenReconnectEnv());
  assertEquals(admins.commander.commands.map((command) => command.kind), ["deny"]);
  const kept = await store.getSession("s-1");
  assertEquals([kept?.server, kept?.cid], ["udp", 4]);
  admins.events.close();
});

Deno.test("refresh check: a token reconnect denied by the new server's policy keeps the session where it was, with the token the IdP rotated", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const clock = new FakeClock(T0 + 1000);
  const presented: string[] = [];
  const admins = testClientEvents({
    store,
    clock,
    server: "admins",
    policy: ADMINS_ONLY,
    reauthCheck: "refresh",
    refresh: (token) => {
      presented.push(token);
      return Promise.resolve(STILL_ALLOWED);
    },
  });
  await store.putSession(session({ server: "udp", cid: 4, resumable: true }));
  await admins.events.onConnect(9, 0, tokenReconnectEnv());
  assertEquals(presented, ["rt-1"]);
  assertEquals(admins.commander.commands.map((command) => command.kind), ["deny"]);
  // Still udp's, bound to its client there, holding the token the IdP rotated rt-1 into.
  const kept = await store.getSession("s-1");
  assertEquals([kept?.server, kept?.cid, kept?.refreshToken], ["udp", 4, "rt-2"]);
  assertEquals(admins.revoked, []);
  admins.events.close();
});

Deno.test("a REAUTH or token CONNECT of a bypassed common name is answered without reading the store", async () => {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  await store.putSession(session({ commonName: "site-a" }));
  let reads = 0;
  const getSession = store.getSession.bind(store);
  store.getSession = (id) => {
    reads++;
    return getSession(id);
  };
  const { events, commander } = testClientEvents({
    store,
    clock: new FakeClock(T0),
    bypassCommonNames: [/^site-.*$/],
  });
  const env = testEnv({ common_name: "site-a" });
  const lines = await logsOf(async () => {
    await events.onReauth(4, 3, env);
    await events.onConnect(
      4,
      4,
      testEnv({ common_name: "site-a", session_state: "Authenticated" }),
    );
  });
  // Named by the certificate, the request in words: no user signed in.
  assertEquals(lines.filter((line) => line.text.includes("bypass list")).map((line) => line.text), [
    "REAUTH on cid 4 (certificate site-a) accepted: its certificate name is on the bypass list",
    "CONNECT on cid 4 (certificate site-a) accepted: its certificate name is on the bypass list",
  ]);
  assertEquals(commander.commands, [
    { kind: "auth-nt", cid: 4, kid: 3 },
    { kind: "auth-nt", cid: 4, kid: 4 },
  ]);
  assertEquals(reads, 0);
  // The same REAUTH of a common name not bypassed reads its session.
  await events.onReauth(4, 5, testEnv({}));
  assertEquals(reads, 1);
  events.close();
});

Deno.test("a token reconnect binds the session to the new cid in the OpenVPN run the CONNECT came in, a restart's run replacing the one before", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-1");
  await t.store.putSession(session({ cid: undefined, resumable: true }));
  const reconnect = (cid: number) =>
    t.events.onConnect(cid, 1, t.env({ session_id: "s-1", session_state: "Authenticated" }));
  await reconnect(2);
  let stored = await t.store.getSession("s-1");
  assertEquals([stored?.cid, stored?.openvpnRun], [2, "run-1"]);
  // OpenVPN restarted (no DISCONNECT); the client comes back as cid 0 of the new run.
  await t.events.openvpnRunIs("run-2");
  await reconnect(0);
  stored = await t.store.getSession("s-1");
  assertEquals([stored?.cid, stored?.openvpnRun], [0, "run-2"]);
  // A run OpenVPN did not tell: none recorded (the cid alone then), the earlier one cleared.
  await t.events.openvpnRunIs(undefined);
  await reconnect(3);
  stored = await t.store.getSession("s-1");
  assertEquals(stored?.cid, 3);
  assert(stored && !("openvpnRun" in stored));
  // The client leaves: the run goes with the cid.
  await t.events.openvpnRunIs("run-3");
  await reconnect(4);
  assertEquals((await t.store.getSession("s-1"))?.openvpnRun, "run-3");
  await t.events.onDisconnect(4);
  stored = await t.store.getSession("s-1");
  assertEquals(stored?.cid, undefined);
  assert(stored && !("openvpnRun" in stored));
  t.events.close();
});

Deno.test("a REAUTH writes the session only when the run recorded with its cid is not the event's; a session stored without one is not written for it", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-2");
  const writes: Array<string | undefined> = [];
  const update = t.store.updateSession.bind(t.store);
  t.store.updateSession = (changed) => {
    writes.push(changed.openvpnRun);
    return update(changed);
  };
  // Bound in this run: a plain renegotiation, not written.
  await t.store.putSession(session({ openvpnRun: "run-2" }));
  await t.events.onReauth(4, 2, t.env({}));
  // Stored by an older version: not written either (judged by its cid until it is).
  await t.store.putSession(session({ sessionId: "s-2", cid: 5, openvpnRun: undefined }));
  await t.events.onReauth(5, 2, t.env({ session_id: "s-2" }));
  assertEquals(writes, []);
  // Recorded in another run: written with this one.
  await t.store.putSession(session({ sessionId: "s-3", cid: 6, openvpnRun: "run-1" }));
  await t.events.onReauth(6, 2, t.env({ session_id: "s-3" }));
  assertEquals(writes, ["run-2"]);
  assertEquals((await t.store.getSession("s-3"))?.openvpnRun, "run-2");
  assertEquals(t.commander.commands.map((c) => c.kind), ["auth-nt", "auth-nt", "auth-nt"]);
  t.events.close();
});

Deno.test("reconciling after a link-up ends the bindings of another OpenVPN run whatever cids the list holds, and only those", async () => {
  const t = setup();
  await t.events.openvpnRunIs("run-2");
  await t.store.putSession(
    session({ sessionId: "old-run", cid: 1, openvpnRun: "run-1", lastAuthAt: T0 - 1 }),
  );
  await t.store.putSession(
    session({ sessionId: "this-run", cid: 1, openvpnRun: "run-2", lastAuthAt: T0 - 1 }),
  );
  await t.store.putSession(session({ sessionId: "no-run", cid: 2, lastAuthAt: T0 - 1 }));
  // Bound anew since the link came up (another instance, a race): left alone.
  await t.store.putSession(
    session({ sessionId: "since", cid: 3, openvpnRun: "run-1", lastAuthAt: T0 }),
  );
  await t.events.forgetClientsExcept(new Set([1, 2, 3]), T0);
  assertEquals(await t.store.getSession("old-run"), undefined);
  assertEquals((await t.store.getSession("this-run"))?.cid, 1);
  assertEquals((await t.store.getSession("no-run"))?.cid, 2);
  assertEquals((await t.store.getSession("since"))?.cid, 3);
  // The list could not be read whole: the runs still decide, the cids do not.
  await t.store.putSession(
    session({ sessionId: "old-run", cid: 1, openvpnRun: "run-1", lastAuthAt: T0 - 1 }),
  );
  await t.events.forgetClientsExcept(undefined, T0);
  assertEquals(await t.store.getSession("old-run"), undefined);
  assertEquals((await t.store.getSession("no-run"))?.cid, 2);
  // A run OpenVPN did not tell says nothing about the runs recorded: the cids decide.
  await t.store.putSession(
    session({ sessionId: "old-run", cid: 1, openvpnRun: "run-1", lastAuthAt: T0 - 1 }),
  );
  await t.events.openvpnRunIs(undefined);
  await t.events.forgetClientsExcept(new Set([1]), T0);
  assertEquals((await t.store.getSession("old-run"))?.cid, 1);
  assertEquals(await t.store.getSession("no-run"), undefined);
  t.events.close();
});

Deno.test("reconciling goes on past a binding that fails, and reports the failure at the end", async () => {
  const memory = new MemoryStore({ maxEntries: 100, now: () => T0 });
  for (const cid of [1, 2, 3]) {
    await memory.putSession(session({ sessionId: `s-${cid}`, cid, lastAuthAt: T0 - 60_000 }));
  }
  // The middle one cannot be read (a blip, or one bad entry).
  const store = new Proxy(memory, {
    get(target, name) {
      if (name !== "getSession") {
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (sessionId: string) =>
        sessionId === "s-2"
          ? Promise.reject(new StoreUnavailableError("Session store unreachable: test"))
          : target.getSession(sessionId);
    },
  });
  const { events } = testClientEvents({ store, clock: new FakeClock(T0) });
  const error = await assertRejects(
    () => events.forgetClientsExcept(new Set(), T0),
    AggregateError,
    "Could not end 1 of 3 binding(s) of clients that are gone: StoreUnavailableError",
  );
  assertEquals(error.errors.length, 1);
  assert(error.errors[0] instanceof StoreUnavailableError);
  assertEquals(await memory.getSession("s-1"), undefined);
  assertEquals((await memory.getSession("s-2"))?.cid, 2, "left for the caller to try again");
  assertEquals(await memory.getSession("s-3"), undefined, "not shielded by the one before it");
  events.close();
});

Deno.test("a token reconnect whose session could be read but not written (store down) is denied naming its user, and warned about once a minute", async () => {
  const t = setup();
  await t.store.putSession(session({ cid: undefined, resumable: true }));
  t.store.updateSession = () =>
    Promise.reject(new StoreUnavailableError("Store unreachable: test"));
  const logs = captureLogs();
  try {
    for (const cid of [2, 3]) {
      await t.events.onConnect(
        cid,
        1,
        t.env({ session_id: "s-1", session_state: "Authenticated" }),
      );
    }
  } finally {
    logs.stop();
  }
  assertEquals(t.commander.commands.map((c) => [c.kind, c.cid]), [["deny", 2], ["deny", 3]]);
  const audit = logs.lines.filter((line) => line.category === "audit");
  assertEquals(audit.map((line) => [line.properties.username, line.properties.reason]), [
    ["alice", "store_unavailable"],
    ["alice", "store_unavailable"],
  ]);
  const denied = logs.lines.filter((line) => line.text.includes("denied: session store"));
  assertEquals(denied.map((line) => line.level), ["warning", "debug"]);
  t.events.close();
});
