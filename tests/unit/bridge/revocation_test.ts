/**
 * Back-channel logout and admin revokes through the real verifier, Revocation and SessionEnd,
 * with a memory store and recording commanders: what ends, what is killed where, what is
 * revoked, and that a refused or replayed token ends nothing; and a logout or revoke that comes
 * while the store is down, kept and carried out once it is back.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import {
  Revocation,
  type RevocationTarget,
  RevokeDeferredError,
} from "../../../src/bridge/revocation.ts";
import { ManagementConnectionError } from "../../../src/management/errors.ts";
import { KILL_MESSAGE, SessionEnd } from "../../../src/bridge/session_end.ts";
import { getLogger } from "../../../src/log.ts";
import { createLogoutVerifier } from "../../../src/oidc/logout_verifier.ts";
import { LogoutTokenError } from "../../../src/oidc/logout_token.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  CLIENT_ID,
  ISSUER,
  keys,
  logoutClaims,
  NOW,
  refusedCases,
  sign,
  TOLERANCE,
} from "../oidc/logout_fixtures.ts";
import { switchableStore, testSession } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { logsOf } from "../../support/log_capture.ts";
import { TEST_REVOCATION_TIMES } from "../../support/revocation_fixture.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";

/** The kill an admin's revoke sends (session_end.ts, KILL_TEXT). */
const REVOKED_KILL = "RESTART,An administrator ended your VPN session";

function session(overrides: Partial<Session>): Session {
  return testSession({
    server: "vpn1",
    groups: [],
    claims: {},
    subject: "u-alice",
    sid: "sso-a1",
    resumable: true,
    createdAt: NOW,
    lastAuthAt: NOW,
    expiresAt: NOW + 3_600_000,
    ...overrides,
  });
}

async function setup(
  advertisedAlgorithms?: string[],
  revokeAnswer?: () => Promise<void>,
  killLater?: (server: string, cid: number, run: string | undefined) => void,
) {
  const clock = new FakeClock(NOW);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  // What the bridge uses: fails as an unreachable Redis while `outage.down`.
  const { store: flaky, state: outage } = switchableStore(store);
  const servers = { vpn1: new RecordingCommander(), vpn2: new RecordingCommander() };
  const revoked: string[] = [];
  const jwksFetches: string[] = [];
  const end = new SessionEnd({
    store: flaky,
    commanders: (name) => servers[name as keyof typeof servers],
    oidc: {
      revoke: (token) => {
        revoked.push(token);
        return revokeAnswer?.() ?? Promise.resolve();
      },
    },
    sessionLock: new KeyedLock(),
    log: getLogger("test"),
    now: clock.now,
    ...(killLater ? { killLater } : {}),
  });
  const verify = createLogoutVerifier(
    {
      issuer: new URL(ISSUER),
      clientId: CLIENT_ID,
      clockToleranceSec: TOLERANCE,
      httpTimeoutMs: 1000,
    },
    {
      discover: () =>
        Promise.resolve({
          issuer: ISSUER,
          jwks_uri: "https://idp.example.com/jwks",
          ...(advertisedAlgorithms === undefined
            ? {}
            : { id_token_signing_alg_values_supported: advertisedAlgorithms }),
        }),
      get: (url) => {
        jwksFetches.push(String(url));
        return Promise.resolve(Response.json(keys.jwks));
      },
      now: clock.now,
    },
  );
  const revocation = new Revocation({
    store: flaky,
    end,
    verifyLogoutToken: verify,
    log: getLogger("test"),
    clock,
    ...TEST_REVOCATION_TIMES,
  });
  await store.putSession(session({ sessionId: "a1", cid: 4 }));
  await store.putSession(
    session({ sessionId: "a2", server: "vpn2", cid: 9, sid: "sso-a1", refreshToken: "rt-2" }),
  );
  await store.putSession(session({ sessionId: "a3", cid: undefined, sid: "sso-a2" }));
  await store.putSession(
    session({
      sessionId: "b1",
      cid: 5,
      username: "bob",
      subject: "u-bob",
      sid: "sso-b1",
      refreshToken: "rt-bob",
    }),
  );
  const kills = () => ({ vpn1: servers.vpn1.commands, vpn2: servers.vpn2.commands });
  const remaining = async () =>
    (await collectPages(store.sessionPages())).map((s) => s.sessionId).sort();
  return { store, servers, revoked, revocation, kills, remaining, jwksFetches, clock, outage };
}

Deno.test("back-channel logout by sid ends that SSO session's sessions on every server, also while the IdP has taken none of their revocations", async () => {
  // Revocations wait their turn (src/oidc/request_gate.ts): in the second round they never end.
  for (const revokeAnswer of [undefined, () => new Promise<void>(() => {})]) {
    const t = await setup(undefined, revokeAnswer);
    const token = await sign(logoutClaims({ sid: "sso-a1", sub: "u-alice" }));
    assertEquals(await t.revocation.logout(token), 2);
    assertEquals(t.kills(), {
      vpn1: [{ kind: "kill", cid: 4, message: KILL_MESSAGE }],
      vpn2: [{ kind: "kill", cid: 9, message: KILL_MESSAGE }],
    });
    // The grant the two share (Keycloak: one client session per SSO session and client) is
    // revoked once, by the last of them to end (SessionEnd.revokeToken).
    assertEquals(t.revoked, ["rt-2"]);
    assertEquals(await t.remaining(), ["a3", "b1"]);
    assertEquals(t.jwksFetches, ["https://idp.example.com/jwks"]);
  }
});

Deno.test("back-channel logout with sid and another user's sub ends nothing", async () => {
  const t = await setup();
  assertEquals(
    await t.revocation.logout(await sign(logoutClaims({ sid: "sso-a1", sub: "u-bob" }))),
    0,
  );
  assertEquals(t.kills(), { vpn1: [], vpn2: [] });
  assertEquals(await t.remaining(), ["a1", "a2", "a3", "b1"]);
});

Deno.test("back-channel logout with only sub ends every session of the subject; unbound ones are not killed", async () => {
  const t = await setup();
  assertEquals(await t.revocation.logout(await sign(logoutClaims({ sid: undefined }))), 0);
  const token = await sign(logoutClaims({ sid: undefined, sub: "u-alice" }));
  assertEquals(await t.revocation.logout(token), 3);
  assertEquals(t.kills().vpn1.map((c) => c.kind === "kill" && c.cid), [4]);
  assertEquals(t.kills().vpn2.map((c) => c.kind === "kill" && c.cid), [9]);
  // One grant per SSO session: a1 and a2 share sso-a1's.
  assertEquals(t.revoked.sort(), ["rt-1", "rt-2"]);
  assertEquals(await t.remaining(), ["b1"]);
});

Deno.test("back-channel logout's line names what its token named, sid or subject or both, and no placeholder for the other", async () => {
  const t = await setup();
  const named = [];
  for (const claims of [{ sid: "sso-b1", sub: "u-bob" }, { sid: undefined, sub: "u-alice" }]) {
    const token = await sign(logoutClaims(claims));
    const lines = await logsOf(() => t.revocation.logout(token));
    named.push(...lines.filter((line) => line.text.startsWith("Back-channel logout for")));
  }
  assertEquals(named.map((line) => line.text), [
    "Back-channel logout for sid sso-b1 and subject u-bob: 1 session(s)",
    "Back-channel logout for subject u-alice: 3 session(s)",
  ]);
  assertEquals(named[1]!.properties.sid, undefined);
});

Deno.test("a logout token whose logout failed (store unreachable) is taken again when the IdP retries it", async () => {
  const t = await setup();
  const token = await sign(logoutClaims({ sid: "sso-a1", sub: "u-alice" }));
  const find = t.store.findSessionsBySid.bind(t.store);
  t.store.findSessionsBySid = () => Promise.reject(new StoreUnavailableError("store down"));
  await assertRejects(() => t.revocation.logout(token), StoreUnavailableError);
  assertEquals(t.kills(), { vpn1: [], vpn2: [] });
  t.store.findSessionsBySid = find;
  assertEquals(await t.revocation.logout(token), 2);
  assertEquals(await t.remaining(), ["a3", "b1"]);
  // Carried out, it is a replay from now on, and what was kept for the retry is dropped.
  await assertRejects(() => t.revocation.logout(token), LogoutTokenError, "already used");
  assertEquals(t.revocation.held, 0);
  t.clock.advance(60_000);
  await drain();
  assertEquals(t.kills().vpn1.length + t.kills().vpn2.length, 2, "no second kill");
});

/** Lets a retry that a timer started run to its end (store calls, kills, revocations). */
async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("a logout kept while the store is down: the IdP's resend during the outage is taken (not 'already used') and kept once; once the store is back its sessions end once, and a resend after that ends nothing", async () => {
  const t = await setup();
  const token = await sign(logoutClaims({ sid: "sso-a1", sub: "u-alice" }));
  t.outage.down = true;
  await assertRejects(() => t.revocation.logout(token), StoreUnavailableError);
  await assertRejects(() => t.revocation.logout(token), StoreUnavailableError);
  assertEquals(t.revocation.held, 1);
  t.clock.advance(1_000);
  await drain();
  assertEquals([t.kills(), await t.remaining()], [{ vpn1: [], vpn2: [] }, [
    "a1",
    "a2",
    "a3",
    "b1",
  ]]);
  t.outage.down = false;
  t.clock.advance(2_000);
  await drain();
  assertEquals(t.revocation.held, 0);
  assertEquals(await t.remaining(), ["a3", "b1"]);
  assertEquals(t.kills(), {
    vpn1: [{ kind: "kill", cid: 4, message: KILL_MESSAGE }],
    vpn2: [{ kind: "kill", cid: 9, message: KILL_MESSAGE }],
  });
  assertEquals(t.revoked, ["rt-2"]);
  // The IdP, told 503, sends it again: nothing more ends, not even a session begun since.
  await t.store.putSession(session({ sessionId: "a4", cid: 12, sid: "sso-a1" }));
  assertEquals(await t.revocation.logout(token), 0);
  assertEquals(await t.remaining(), ["a3", "a4", "b1"]);
  assertEquals(t.kills().vpn1.length, 1);
  await assertRejects(() => t.revocation.logout(token), LogoutTokenError, "already used");
});

Deno.test("a logout kept while the store is down and sent again once it is back is carried out by the resend, and not again by the retry", async () => {
  const t = await setup();
  const token = await sign(logoutClaims({ sid: "sso-a1", sub: "u-alice" }));
  t.outage.down = true;
  await assertRejects(() => t.revocation.logout(token), StoreUnavailableError);
  t.outage.down = false;
  assertEquals(await t.revocation.logout(token), 2);
  assertEquals(t.revocation.held, 0);
  await t.store.putSession(session({ sessionId: "a4", cid: 12, sid: "sso-a1" }));
  t.clock.advance(60_000);
  await drain();
  assertEquals(await t.remaining(), ["a3", "a4", "b1"]);
  assertEquals(t.kills().vpn1.length, 1);
  await assertRejects(() => t.revocation.logout(token), LogoutTokenError, "already used");
});

Deno.test("a logout by sub kept while the store is down ends only the sessions begun before it came, not the user's sign-in after the store was back", async () => {
  const t = await setup();
  t.outage.down = true;
  await assertRejects(
    async () => t.revocation.logout(await sign(logoutClaims({ sid: undefined, sub: "u-alice" }))),
    StoreUnavailableError,
  );
  t.clock.advance(500);
  t.outage.down = false;
  await t.store.putSession(
    session({ sessionId: "a5", cid: 13, sid: "sso-a3", createdAt: t.clock.now() }),
  );
  t.clock.advance(500);
  await drain();
  assertEquals(await t.remaining(), ["a5", "b1"]);
  assertEquals(t.kills().vpn1.map((c) => c.kind === "kill" && c.cid), [4]);
});

Deno.test("an admin revoke while the store is down says it is kept, is kept once, and is carried out once the store is back", async () => {
  const t = await setup();
  t.outage.down = true;
  for (let i = 0; i < 2; i++) {
    await assertRejects(
      () => t.revocation.revoke({ kind: "user", username: "bob" }),
      RevokeDeferredError,
      "Session store unreachable: the revoke is kept and carried out once the store answers",
    );
  }
  assertEquals(t.revocation.held, 1);
  t.outage.down = false;
  t.clock.advance(1_000);
  await drain();
  assertEquals(await t.remaining(), ["a1", "a2", "a3"]);
  assertEquals(t.kills().vpn1, [{ kind: "kill", cid: 5, message: REVOKED_KILL }]);
  assertEquals(t.revoked, ["rt-bob"]);
  assertEquals(t.revocation.held, 0);
});

Deno.test("a revocation the store could not take while the service stops is not kept, and the admin is told to run it again", async () => {
  const t = await setup();
  t.outage.down = true;
  await assertRejects(() => t.revocation.revoke({ kind: "subject", subject: "u-bob" }));
  t.revocation.close();
  assertEquals([t.revocation.held, t.clock.pendingTimers], [0, 0]);
  await assertRejects(
    () => t.revocation.revoke({ kind: "session", sessionId: "b1" }),
    RevokeDeferredError,
    "the revoke is not done, and the service is stopping and does not keep it: run it again",
  );
  assertEquals(t.revocation.held, 0);
});

Deno.test("a replayed logout token is refused and ends nothing, not even a newer session", async () => {
  const t = await setup();
  const token = await sign(logoutClaims({ sid: "sso-a1", sub: "u-alice" }));
  assertEquals(await t.revocation.logout(token), 2);
  await t.store.putSession(session({ sessionId: "a4", cid: 12, sid: "sso-a1" }));
  await assertRejects(() => t.revocation.logout(token), LogoutTokenError, "already used");
  assertEquals(t.kills().vpn1.length, 1);
  assertEquals(await t.remaining(), ["a3", "a4", "b1"]);
});

for (const [name, make] of refusedCases) {
  Deno.test(`back-channel logout with ${name} is refused and ends nothing`, async () => {
    const t = await setup();
    await assertRejects(async () => t.revocation.logout(await make()), LogoutTokenError);
    assertEquals(t.kills(), { vpn1: [], vpn2: [] });
    assertEquals(t.revoked, []);
    assertEquals(await t.remaining(), ["a1", "a2", "a3", "b1"]);
  });
}

Deno.test("an IdP advertising only HS256 gets no logout token accepted, not even a signed one", async () => {
  const t = await setup(["HS256"]);
  await assertRejects(
    async () => t.revocation.logout(await sign(logoutClaims())),
    LogoutTokenError,
  );
  assertEquals(t.kills(), { vpn1: [], vpn2: [] });
  assertEquals(await t.remaining(), ["a1", "a2", "a3", "b1"]);
});

Deno.test("admin revoke by user, subject or session id ends exactly those sessions", async () => {
  const t = await setup();
  const ended = async (target: RevocationTarget) => (await t.revocation.revoke(target)).ended;
  assertEquals(await ended({ kind: "session", sessionId: "b1" }), 1);
  assertEquals(await ended({ kind: "session", sessionId: "b1" }), 0);
  assertEquals(await ended({ kind: "user", username: "nobody" }), 0);
  assertEquals(await t.remaining(), ["a1", "a2", "a3"]);
  assertEquals(await ended({ kind: "subject", subject: "u-alice" }), 3);
  assertEquals(await t.remaining(), []);
  assertEquals(t.kills().vpn1.map((c) => c.kind === "kill" && c.cid).sort(), [4, 5]);
  assertEquals(t.revoked.sort(), ["rt-1", "rt-2", "rt-bob"]);
});

/**
 * The user whose session an administrator ended is told so: RESTART, so that the client comes
 * back at once to a new browser sign-in (HALT would leave it stopped), with the text a 2.6 client
 * logs ("Connection reset command was pushed by server ('...')") and shows its GUI.
 */
Deno.test("an admin revoke's kill restarts the client with a text saying an administrator ended the session", async () => {
  const t = await setup();
  await t.revocation.revoke({ kind: "user", username: "bob" });
  assertEquals(t.kills().vpn1, [{ kind: "kill", cid: 5, message: REVOKED_KILL }]);
});

Deno.test("a session ended while another of the same IdP session lives on keeps its refresh token: revoking it would end the other's grant", async () => {
  const t = await setup();
  // a1 and a2 were signed in from one browser (sso-a1): at Keycloak one client session.
  assertEquals((await t.revocation.revoke({ kind: "session", sessionId: "a1" })).ended, 1);
  assertEquals(t.revoked, []);
  assertEquals((await t.revocation.revoke({ kind: "session", sessionId: "a2" })).ended, 1);
  assertEquals(t.revoked, ["rt-2"]);
  // The store cannot say whether another shares it: left to expire at the IdP.
  t.store.findSessionsBySid = () => Promise.reject(new StoreUnavailableError("store down"));
  assertEquals((await t.revocation.revoke({ kind: "session", sessionId: "b1" })).ended, 1);
  assertEquals(t.revoked, ["rt-2"]);
});

Deno.test("a session ends even when its client is already gone (client-kill refused)", async () => {
  const t = await setup();
  t.servers.vpn1.failWith = "ERROR: client-kill command failed";
  assertEquals(await t.revocation.revoke({ kind: "user", username: "bob" }), {
    ended: 1,
    stillConnected: [],
  });
  assertEquals(await t.remaining(), ["a1", "a2", "a3"]);
  assertEquals(t.revoked, ["rt-bob"]);
});

Deno.test("an admin revoke whose client-kill could not be sent (the management link down) says which client is still connected, and hands the kill on for when the link is back", async () => {
  const later: Array<[string, number]> = [];
  const t = await setup(undefined, undefined, (server, cid) => later.push([server, cid]));
  t.servers.vpn1.kill = () =>
    Promise.reject(
      new ManagementConnectionError("not-connected", "Management interface not connected"),
    );
  assertEquals(await t.revocation.revoke({ kind: "user", username: "bob" }), {
    ended: 1,
    stillConnected: [{ server: "vpn1", cid: 5, username: "bob" }],
  });
  assertEquals(await t.remaining(), ["a1", "a2", "a3"]);
  assertEquals(later, [["vpn1", 5]]);
});

Deno.test("a kill names the run of OpenVPN its client was seen in, sent now or handed on for later", async () => {
  const later: Array<[string, number, string | undefined]> = [];
  const t = await setup(undefined, undefined, (server, cid, run) => later.push([server, cid, run]));
  const run = "4242@1795878880:CONNECTED";
  // Alice's a1 on cid 4 and Bob's b1 on cid 5 (setup), bound in that run.
  for (const id of ["a1", "b1"]) {
    await t.store.putSession({ ...(await t.store.getSession(id))!, openvpnRun: run });
  }
  // The holder of the link (sign_in_guard.ts) sends it only in that run: after an OpenVPN
  // restart cid 4 may be a stranger's.
  await t.revocation.revoke({ kind: "user", username: "alice" });
  assertEquals(t.kills().vpn1, [{ kind: "kill", cid: 4, message: REVOKED_KILL, openvpnRun: run }]);
  t.servers.vpn1.kill = () =>
    Promise.reject(
      new ManagementConnectionError("not-connected", "Management interface not connected"),
    );
  await t.revocation.revoke({ kind: "user", username: "bob" });
  assertEquals(later, [["vpn1", 5, run]]);
});

/**
 * Bob's client reconnects through another bridge instance sharing the store (Redis) after this
 * one read his session (cid 5) and before it deleted it: that instance's session lock is not
 * this one's, and it rebinds the session to cid 8 and admits the client.
 */
function rebindBobBeforeDelete(store: MemoryStore): void {
  const deleteSession = store.deleteSession.bind(store);
  store.deleteSession = async (sessionId) => {
    const read = await store.getSession(sessionId);
    if (read?.username === "bob") await store.updateSession({ ...read, cid: 8 });
    return await deleteSession(sessionId);
  };
}

Deno.test("a revoke that races another bridge's reconnect of the session kills the client it was rebound to", async () => {
  const t = await setup();
  rebindBobBeforeDelete(t.store);
  assertEquals(await t.revocation.revoke({ kind: "user", username: "bob" }), {
    ended: 1,
    stillConnected: [],
  });
  assertEquals(t.kills().vpn1, [{ kind: "kill", cid: 8, message: REVOKED_KILL }]);
  // Its kill could not be sent: the client it was rebound to is the one reported.
  const down = await setup();
  rebindBobBeforeDelete(down.store);
  down.servers.vpn1.kill = () =>
    Promise.reject(
      new ManagementConnectionError("not-connected", "Management interface not connected"),
    );
  assertEquals(await down.revocation.revoke({ kind: "user", username: "bob" }), {
    ended: 1,
    stillConnected: [{ server: "vpn1", cid: 8, username: "bob" }],
  });
});

Deno.test("a logout by sub kept while the store is down and sent again once it is back spares, as the retry would, the user's sign-in after the store was back", async () => {
  const t = await setup();
  const token = await sign(logoutClaims({ sid: undefined, sub: "u-alice" }));
  t.outage.down = true;
  await assertRejects(() => t.revocation.logout(token), StoreUnavailableError);
  t.clock.advance(500);
  t.outage.down = false;
  await t.store.putSession(
    session({ sessionId: "a5", cid: 13, sid: "sso-a3", createdAt: t.clock.now() }),
  );
  // The IdP's resend comes before the retry.
  assertEquals(await t.revocation.logout(token), 3);
  assertEquals(await t.remaining(), ["a5", "b1"]);
  assertEquals(t.revocation.held, 0);
});

Deno.test("an admin revoke kept while the store is down and run again once it is back is no longer kept", async () => {
  const t = await setup();
  t.outage.down = true;
  await assertRejects(
    () => t.revocation.revoke({ kind: "user", username: "bob" }),
    RevokeDeferredError,
  );
  assertEquals(t.revocation.held, 1);
  t.outage.down = false;
  // Run again before the retry: carried out, and so not kept for the retry any more.
  assertEquals((await t.revocation.revoke({ kind: "user", username: "bob" })).ended, 1);
  assertEquals(t.revocation.held, 0, "revocations still kept");
  assertEquals(t.clock.pendingTimers, 1, "the retry's timer, which then finds nothing");
  t.clock.advance(1_000);
  await drain();
  assertEquals(t.clock.pendingTimers, 0);
});
