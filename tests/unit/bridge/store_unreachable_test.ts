/**
 * Client events while the session store cannot be reached: new sign-ins and reconnects fail
 * closed with a reason that says so; a REAUTH is denied (store_unreachable = "deny") or judged
 * on what this bridge knows of the session ("allow"), which a logout or revoke arriving
 * meanwhile takes back at once.
 */
import { Hono } from "hono";
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { KnownSessions } from "../../../src/sessions/known_sessions.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { STORE_UNAVAILABLE } from "../../../src/bridge/denial.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import { Revocation, RevokeDeferredError } from "../../../src/bridge/revocation.ts";
import { KILL_MESSAGE, killMessage, SessionEnd } from "../../../src/bridge/session_end.ts";
import { registerBackchannelLogout } from "../../../src/http/backchannel_logout.ts";
import type { HttpEnv } from "../../../src/http/serve.ts";
import { getLogger } from "../../../src/log.ts";
import { createLogoutVerifier } from "../../../src/oidc/logout_verifier.ts";
import { CLIENT_ID, ISSUER, keys, logoutClaims, sign, TOLERANCE } from "../oidc/logout_fixtures.ts";
import {
  EVENTS_T0 as T0,
  settle,
  switchableStore,
  testClientEvents,
  testEnv,
  testSession as session,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const HOUR = 3_600_000;

function setup(storeUnreachable: "deny" | "allow", reauthCheck: "none" | "refresh" = "none") {
  const clock = new FakeClock(T0);
  const memory = new MemoryStore({ maxEntries: 100, now: clock.now });
  const { store: flaky, state } = switchableStore(memory);
  const known = new KnownSessions(100);
  const store = known.watch(flaky);
  const { events, commander, revoked } = testClientEvents({
    store,
    clock,
    storeUnreachable,
    reauthCheck,
    knownSessions: known,
    refresh: () => Promise.reject(new Error("no refresh while the store is down")),
  });
  const env = (values: Record<string, string> = {}) => testEnv(values);
  return { clock, memory, store, state, known, events, commander, env, revoked };
}

const DENIED_UNREACHABLE = (cid: number, kid: number) => ({
  kind: "deny",
  cid,
  kid,
  reason: STORE_UNAVAILABLE.logReason,
  clientReason: STORE_UNAVAILABLE.reason,
});

Deno.test("a CONNECT while the store is unreachable is denied saying so, in both modes", async () => {
  for (const mode of ["deny", "allow"] as const) {
    const t = setup(mode);
    await t.store.putSession(session());
    t.state.down = true;
    await t.events.onConnect(9, 1, t.env({ session_id: "s-new" }));
    await t.events.onConnect(10, 1, t.env({ session_state: "Authenticated" }));
    assertEquals(t.commander.commands, [DENIED_UNREACHABLE(9, 1), DENIED_UNREACHABLE(10, 1)]);
    t.events.close();
  }
});

Deno.test("store_unreachable = deny: a REAUTH of a known client is denied saying so", async () => {
  const t = setup("deny");
  await t.store.putSession(session());
  t.state.down = true;
  await t.events.onReauth(4, 2, t.env());
  assertEquals(t.commander.commands, [DENIED_UNREACHABLE(4, 2)]);
  t.events.close();
});

Deno.test("store_unreachable = allow: a REAUTH of a session this bridge bound is accepted without a write", async () => {
  const t = setup("allow", "refresh");
  await t.store.putSession(session({ resumable: true }));
  t.state.down = true;
  await t.events.onReauth(4, 2, t.env({ session_state: "Authenticated" }));
  assertEquals(t.commander.commands, [{ kind: "auth-nt", cid: 4, kid: 2 }]);
  t.state.down = false;
  assertEquals((await t.memory.getSession("s-1"))?.lastAuthAt, T0, "nothing written back");
  t.events.close();
});

Deno.test("store_unreachable = allow: the decision table still applies to what is known", async () => {
  const t = setup("allow");
  await t.store.putSession(session());
  await t.store.putSession(session({ sessionId: "s-2", cid: 5, commonName: "bob" }));
  t.state.down = true;
  await t.events.onReauth(6, 1, t.env()); // s-1 is bound to cid 4, not 6
  await t.events.onReauth(5, 1, t.env({ session_id: "s-2", common_name: "mallory" }));
  await t.events.onReauth(4, 1, t.env({ session_state: "Expired" }));
  await t.events.onReauth(7, 1, t.env({ session_id: "s-unknown" }));
  t.clock.advance(HOUR + 1);
  await t.events.onReauth(4, 2, t.env());
  assertEquals(t.commander.commands.map((c) => c.kind === "deny" ? c.reason : c.kind), [
    "no session for this client",
    "no session for this client",
    "session token expired (session_state Expired)",
    STORE_UNAVAILABLE.logReason,
    "session lifetime reached",
  ]);
  t.events.close();
});

Deno.test("store_unreachable = allow: a client that disconnected while the store was down is forgotten", async () => {
  const t = setup("allow");
  await t.store.putSession(session());
  t.state.down = true;
  await t.events.onDisconnect(4).catch(() => {});
  assertEquals(t.known.get("s-1"), undefined);
  await t.events.onReauth(4, 2, t.env());
  assertEquals(t.commander.commands, [DENIED_UNREACHABLE(4, 2)]);
  t.events.close();
});

Deno.test("a DISCONNECT while the store is down ends its session once the store is back: not left bound to a cid OpenVPN gives to someone else", async () => {
  const t = setup("deny");
  // A certificate-only client: its session cannot be resumed, so it ends at DISCONNECT.
  await t.store.putSession(session());
  // And one whose client left as a new client took its cid after the DISCONNECT: kept.
  await t.store.putSession(session({ sessionId: "s-2", username: "bob", cid: 6 }));
  t.clock.advance(60_000);
  t.state.down = true;
  await t.events.onDisconnect(4);
  await t.events.onDisconnect(6);
  t.clock.advance(500);
  await t.memory.updateSession({
    ...(await t.memory.getSession("s-2"))!,
    resumable: true,
    lastAuthAt: t.clock.now(),
  });
  // Still down at the first retry.
  t.clock.advance(1_000);
  await settle();
  assertEquals((await t.memory.getSession("s-1"))?.cid, 4);
  t.state.down = false;
  t.clock.advance(2_000);
  await settle();
  assertEquals(await t.memory.getSession("s-1"), undefined, "ended");
  assertEquals(t.revoked, ["rt-1"], "and its refresh token revoked");
  assertEquals((await t.memory.getSession("s-2"))?.cid, 6, "the new binding of cid 6 kept");
  t.events.close();
});

Deno.test("KnownSessions keeps no claims or tokens, follows unbinds and deletes, and stays bounded", async () => {
  const known = new KnownSessions(2);
  const store = known.watch(new MemoryStore({ maxEntries: 10, now: () => T0 }));
  await store.putSession(session());
  const kept = known.get("s-1");
  assertEquals([kept?.cid, kept?.refreshToken, kept?.claims, kept?.groups], [4, undefined, {}, []]);
  await store.putSession(session({ cid: undefined }));
  assertEquals(known.get("s-1"), undefined);
  await store.putSession(session({ cid: 8 }));
  assertEquals(known.get("s-1")?.cid, 8);
  await store.deleteSession("s-1");
  assertEquals(known.get("s-1"), undefined);
  for (const id of ["a", "b", "c"]) await store.putSession(session({ sessionId: id, cid: 1 }));
  assertEquals([known.size, known.get("a"), known.get("c")?.sessionId], [2, undefined, "c"]);
});

/**
 * This bridge's back-channel logout endpoint and admin revoke over the same store, known
 * sessions and recording commander as the events: kills are recorded among their answers.
 */
function withRevocation(t: ReturnType<typeof setup>) {
  const log = getLogger("test");
  const end = new SessionEnd({
    store: t.store,
    commanders: () => t.commander,
    oidc: {
      revoke: (token) => {
        t.revoked.push(token);
        return Promise.resolve();
      },
    },
    sessionLock: new KeyedLock(),
    log,
    now: t.clock.now,
  });
  const verifyLogoutToken = createLogoutVerifier(
    {
      issuer: new URL(ISSUER),
      clientId: CLIENT_ID,
      clockToleranceSec: TOLERANCE,
      httpTimeoutMs: 1,
    },
    {
      discover: () => Promise.resolve({ issuer: ISSUER, jwks_uri: "https://idp.example.com/jwks" }),
      get: () => Promise.resolve(Response.json(keys.jwks)),
      now: t.clock.now,
    },
  );
  const revocation = new Revocation({
    store: t.store,
    end,
    verifyLogoutToken,
    log,
    knownSessions: t.known,
    clock: t.clock,
    keepForMs: HOUR,
    clockToleranceSec: 0,
  });
  const app = new Hono<{ Bindings: HttpEnv }>();
  registerBackchannelLogout(app, {
    logout: (token) => revocation.logout(token),
    log,
    now: t.clock.now,
  });
  const postLogout = async (claims = logoutClaims()) => {
    const response = await app.request("/oauth2/backchannel-logout", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `logout_token=${await sign(claims)}`,
    });
    return {
      status: response.status,
      cacheControl: response.headers.get("cache-control"),
      error: response.status === 200 ? undefined : (await response.json()).error,
    };
  };
  return { revocation, postLogout };
}

/** Lets a retry that a timer started run to its end (store calls, kills, revocations). */
async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Alice's session s-1 on cid 4 of IdP session sso-1 (the logout fixtures' sid and sub), Bob's s-2 on cid 5. */
async function aliceAndBob(t: ReturnType<typeof setup>): Promise<void> {
  await t.store.putSession(session({ sid: "sso-1" }));
  await t.store.putSession(
    session({ sessionId: "s-2", cid: 5, commonName: "bob", username: "bob", subject: "u-2" }),
  );
}

const BOB = { session_id: "s-2", common_name: "bob" };

Deno.test("store_unreachable = allow: a back-channel logout while the store is down gets 503, the next REAUTH is denied, and once the store is back the session is gone and its client killed", async () => {
  const t = setup("allow");
  const r = withRevocation(t);
  await aliceAndBob(t);
  t.state.down = true;
  const answer = await r.postLogout();
  await t.events.onReauth(4, 2, t.env());
  await t.events.onReauth(5, 2, t.env(BOB));
  const whileDown = t.commander.commands.splice(0);
  t.state.down = false;
  t.clock.advance(1_000);
  await drain();
  assertEquals({
    answer,
    whileDown,
    afterwards: {
      s1: await t.memory.getSession("s-1"),
      s2: (await t.memory.getSession("s-2"))?.cid,
      commands: t.commander.commands,
      revoked: t.revoked,
    },
  }, {
    answer: { status: 503, cacheControl: "no-store", error: "temporarily_unavailable" },
    // Alice's REAUTH denied at once; Bob, named by no logout, still admitted.
    whileDown: [DENIED_UNREACHABLE(4, 2), { kind: "auth-nt", cid: 5, kid: 2 }],
    afterwards: {
      s1: undefined,
      s2: 5,
      commands: [{ kind: "kill", cid: 4, message: KILL_MESSAGE }],
      revoked: ["rt-1"],
    },
  });
  assertEquals(r.revocation.held, 0);
  r.revocation.close();
  t.events.close();
});

Deno.test("store_unreachable = allow: the IdP's resend of a logout kept during the outage gets 503 again, not 'already used', and its session ends once", async () => {
  const t = setup("allow");
  const r = withRevocation(t);
  await aliceAndBob(t);
  t.state.down = true;
  const claims = logoutClaims();
  const answers = [(await r.postLogout(claims)).status, (await r.postLogout(claims)).status];
  assertEquals([answers, r.revocation.held], [[503, 503], 1]);
  t.state.down = false;
  t.clock.advance(1_000);
  await drain();
  assertEquals(await t.memory.getSession("s-1"), undefined);
  // Answered 503, the IdP may send it once more: nothing more is ended or killed.
  assertEquals((await r.postLogout(claims)).status, 200);
  assertEquals(t.commander.commands, [{ kind: "kill", cid: 4, message: KILL_MESSAGE }]);
  r.revocation.close();
  t.events.close();
});

Deno.test("store_unreachable = allow: an admin revoke while the store is down says it is kept, the user's next REAUTH is denied, and it is carried out once the store is back", async () => {
  const t = setup("allow");
  const r = withRevocation(t);
  await aliceAndBob(t);
  t.state.down = true;
  await assertRejects(
    () => r.revocation.revoke({ kind: "user", username: "alice" }),
    RevokeDeferredError,
    "kept and carried out once the store answers",
  );
  await t.events.onReauth(4, 2, t.env());
  await t.events.onReauth(5, 2, t.env(BOB));
  assertEquals(t.commander.commands.splice(0), [
    DENIED_UNREACHABLE(4, 2),
    { kind: "auth-nt", cid: 5, kid: 2 },
  ]);
  t.state.down = false;
  t.clock.advance(1_000);
  await drain();
  assertEquals(await t.memory.getSession("s-1"), undefined);
  assertEquals(t.commander.commands, [{
    kind: "kill",
    cid: 4,
    message: killMessage("admin-revoke"),
  }]);
  r.revocation.close();
  t.events.close();
});

Deno.test("KnownSessions.forgetWhere drops exactly the sessions picked", async () => {
  const known = new KnownSessions(10);
  const store = known.watch(new MemoryStore({ maxEntries: 10, now: () => T0 }));
  await store.putSession(session({ sid: "sso-1" }));
  await store.putSession(session({ sessionId: "s-2", cid: 5, sid: "sso-2" }));
  await store.putSession(session({ sessionId: "s-3", cid: 6, subject: "u-2", sid: "sso-1" }));
  assertEquals(known.forgetWhere((s) => s.sid === "sso-1" && s.subject === "u-1"), 1);
  assertEquals([known.get("s-1"), known.get("s-2")?.cid, known.get("s-3")?.cid], [undefined, 5, 6]);
  assertEquals(known.size, 2);
  // Learnt again only from the store: once it answers with the session still there.
  await store.getSession("s-1");
  assertEquals(known.get("s-1")?.cid, 4);
  assertEquals(known.forgetWhere(() => false), 0);
});
