/**
 * A revocation kept while the store is down, carried out once it answers, against clocks that
 * do not agree: the wall clock stepped back (chrony) after a session was stamped, another
 * instance's clock running ahead. It ends every session that existed when it came, and still
 * spares a sign-in made once the store was back.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";
import { switchableStore, testSession } from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { TEST_REVOCATION_TIMES } from "../../support/revocation_fixture.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import { Revocation, RevokeDeferredError } from "../../../src/bridge/revocation.ts";
import { SessionEnd } from "../../../src/bridge/session_end.ts";
import { getLogger } from "../../../src/log.ts";
import { createLogoutVerifier } from "../../../src/oidc/logout_verifier.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import type { Session } from "../../../src/sessions/types.ts";
import {
  CLIENT_ID,
  ISSUER,
  keys,
  logoutClaims,
  NOW,
  sign,
  TOLERANCE,
} from "../oidc/logout_fixtures.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Bob's session on cid 5 of vpn1, and Alice's (another user's, never revoked) on cid 4. */
function bob(overrides: Partial<Session> = {}): Session {
  return testSession({
    sessionId: "b1",
    server: "vpn1",
    cid: 5,
    username: "bob",
    commonName: "bob",
    subject: "u-bob",
    sid: "sso-b1",
    refreshToken: "rt-bob",
    createdAt: NOW,
    lastAuthAt: NOW,
    expiresAt: NOW + 12 * HOUR,
    ...overrides,
  });
}

async function setup(options: { clockToleranceSec?: number } = {}) {
  const clock = new FakeClock(NOW);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  // What the bridge uses: fails as an unreachable Redis while `outage.down`.
  const { store: flaky, state: outage } = switchableStore(store);
  const vpn1 = new RecordingCommander();
  const end = new SessionEnd({
    store: flaky,
    commanders: () => vpn1,
    oidc: { revoke: () => Promise.resolve() },
    sessionLock: new KeyedLock(),
    log: getLogger("test"),
    now: clock.now,
  });
  const verify = createLogoutVerifier(
    {
      issuer: new URL(ISSUER),
      clientId: CLIENT_ID,
      clockToleranceSec: TOLERANCE,
      httpTimeoutMs: 1000,
    },
    {
      discover: () => Promise.resolve({ issuer: ISSUER, jwks_uri: "https://idp.example.com/jwks" }),
      get: () => Promise.resolve(Response.json(keys.jwks)),
      now: clock.now,
    },
  );
  // Spread, so that this file still compiles against a Revocation without the option.
  const revocation = new Revocation({
    store: flaky,
    end,
    verifyLogoutToken: verify,
    log: getLogger("test"),
    clock,
    ...TEST_REVOCATION_TIMES,
    ...options,
  });
  await store.putSession(bob());
  await store.putSession(
    bob({ sessionId: "a1", cid: 4, username: "alice", subject: "u-alice", sid: "sso-a1" }),
  );
  const remaining = async () =>
    (await collectPages(store.sessionPages())).map((s) => s.sessionId).sort();
  const killed = () => vpn1.commands.map((c) => c.kind === "kill" && c.cid);
  /** A logout token for Bob's subject, issued now by the IdP's (right) clock. */
  const bobLogout = () =>
    sign(logoutClaims({ sid: undefined, sub: "u-bob", iat: Math.floor(clock.now() / 1000) }));
  /** Time moves on a second at a time, letting each retry the timers start run to its end. */
  const pass = async (ms: number) => {
    for (let left = ms; left > 0; left -= 1_000) {
      clock.advance(Math.min(1_000, left));
      await drain();
    }
  };
  return { store, clock, outage, revocation, remaining, killed, bobLogout, pass };
}

async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Each way a revocation of Bob's session comes, asked while the store is down. */
const revocations: Array<[string, (t: Setup) => Promise<unknown>]> = [
  ["revoke of user", (t) => t.revocation.revoke({ kind: "user", username: "bob" })],
  ["revoke of subject", (t) => t.revocation.revoke({ kind: "subject", subject: "u-bob" })],
  ["revoke of session", (t) => t.revocation.revoke({ kind: "session", sessionId: "b1" })],
  ["back-channel logout by sub", async (t) => t.revocation.logout(await t.bobLogout())],
];

async function keptWhileDown(t: Setup, revoke: (t: Setup) => Promise<unknown>): Promise<void> {
  t.outage.down = true;
  const error = await assertRejects(() => revoke(t));
  if (!(error instanceof RevokeDeferredError || error instanceof StoreUnavailableError)) {
    throw error;
  }
  assertEquals(t.revocation.held, 1);
}

for (const [name, revoke] of revocations) {
  Deno.test(`a ${name} kept while the store is down, after the clock was stepped back an hour, ends the session begun before it`, async () => {
    const t = await setup();
    // Bob signed in at 12:00 (NOW); at 12:10 chrony steps the clock back to 11:10.
    t.clock.advance(10 * MINUTE);
    t.clock.stepWall(-HOUR);
    await keptWhileDown(t, revoke);
    t.outage.down = false;
    await t.pass(1_000);
    assertEquals(t.revocation.held, 0);
    assertEquals(await t.remaining(), ["a1"]);
    assertEquals(t.killed(), [5]);
  });

  Deno.test(`a ${name} kept while the store is down spares the sign-in made once the store was back`, async () => {
    const t = await setup();
    await keptWhileDown(t, revoke);
    t.outage.down = false;
    t.clock.advance(500);
    // Bob signs in again from another device: not the session revoked.
    await t.store.putSession(bob({ sessionId: "b2", cid: 6, createdAt: t.clock.now() }));
    await t.pass(1_000);
    assertEquals(t.revocation.held, 0);
    assertEquals(await t.remaining(), ["a1", "b2"]);
    assertEquals(t.killed(), [5]);
  });
}

Deno.test("after the clock was stepped back, a kept revoke also ends a sign-in made once the store was back until the clock has caught up with the step, and spares it after", async () => {
  const t = await setup();
  t.clock.advance(10 * MINUTE);
  t.clock.stepWall(-HOUR);
  await keptWhileDown(t, (t) => t.revocation.revoke({ kind: "user", username: "bob" }));
  t.outage.down = false;
  t.clock.advance(500);
  // Stamped 11:10 and a bit: earlier than Bob's first session (12:00), so not told from it.
  await t.store.putSession(bob({ sessionId: "b2", cid: 6, createdAt: t.clock.now() }));
  await t.pass(1_000);
  assertEquals(await t.remaining(), ["a1"]);
  // An hour on, the clock reads past every stamp made before the step.
  t.clock.advance(HOUR);
  await t.store.putSession(bob({ sessionId: "b3", cid: 7, createdAt: t.clock.now() }));
  t.clock.advance(MINUTE);
  await keptWhileDown(t, (t) => t.revocation.revoke({ kind: "user", username: "bob" }));
  t.outage.down = false;
  t.clock.advance(500);
  await t.store.putSession(bob({ sessionId: "b4", cid: 8, createdAt: t.clock.now() }));
  await t.pass(1_000);
  assertEquals(await t.remaining(), ["a1", "b4"]);
  assertEquals(t.killed(), [5, 6, 7]);
});

Deno.test("a revoke kept while the store is down ends a session whose stamp the clock, stepped back by about its age, made look begun after the store failed", async () => {
  const t = await setup();
  // Bob signed in at NOW; ten minutes later the clock is stepped back to just before NOW.
  t.clock.advance(10 * MINUTE);
  t.clock.stepWall(-(10 * MINUTE + 500));
  await keptWhileDown(t, (t) => t.revocation.revoke({ kind: "user", username: "bob" }));
  t.outage.down = false;
  // Carried out at NOW + 500 ms by the wall clock: Bob's stamp, NOW, lies between the failure
  // and now by that clock, as a sign-in after the store came back would.
  await t.pass(1_000);
  assertEquals(await t.remaining(), ["a1"]);
  assertEquals(t.killed(), [5]);
});

Deno.test("a revoke kept while the store is down ends a session stamped by another instance whose clock runs ahead", async () => {
  const t = await setup();
  // Bob signed in through an instance ten minutes ahead of this one.
  await t.store.putSession(bob({ createdAt: NOW + 10 * MINUTE }));
  await keptWhileDown(t, (t) => t.revocation.revoke({ kind: "subject", subject: "u-bob" }));
  t.outage.down = false;
  await t.pass(1_000);
  assertEquals(await t.remaining(), ["a1"]);
  assertEquals(t.killed(), [5]);
});

Deno.test("with a clock tolerance, a kept revoke ends a session stamped within it of the store's failure by an instance running ahead", async () => {
  const t = await setup({ clockToleranceSec: 30 });
  // Signed in just before the revoke through an instance a second ahead of this one: its stamp
  // lies between the failure and the retry, as a sign-in once the store was back would.
  await t.store.putSession(bob({ createdAt: NOW + 500 }));
  await keptWhileDown(t, (t) => t.revocation.revoke({ kind: "user", username: "bob" }));
  t.outage.down = false;
  await t.pass(1_000);
  assertEquals(await t.remaining(), ["a1"]);
  assertEquals(t.killed(), [5]);
});

Deno.test("with a clock tolerance, a kept revoke spares a sign-in made once the store was back, after a long outage, and ends one stamped while it was still failing", async () => {
  const t = await setup({ clockToleranceSec: 30 });
  await keptWhileDown(t, (t) => t.revocation.revoke({ kind: "user", username: "bob" }));
  // Retried at 1, 3, 7, 15, 31 and 63 s, failing each time; the next try is a minute later.
  await t.pass(40_000);
  // Another instance, which reached the store meanwhile, signed Bob in: this one cannot tell
  // that stamp from one made ahead before the revoke, so it ends.
  await t.store.putSession(bob({ sessionId: "b3", cid: 7, createdAt: t.clock.now() }));
  await t.pass(30_000);
  t.outage.down = false;
  await t.pass(40_000);
  // More than the tolerance after the last failure, before the next retry.
  await t.store.putSession(bob({ sessionId: "b2", cid: 6, createdAt: t.clock.now() }));
  assertEquals(t.revocation.held, 1);
  await t.pass(30_000);
  assertEquals(t.revocation.held, 0);
  assertEquals(await t.remaining(), ["a1", "b2"]);
  assertEquals(t.killed().sort(), [5, 7]);
});

Deno.test("a logout kept while the store is down, sent again once it is back, ends the session begun before the clock was stepped back", async () => {
  const t = await setup();
  t.clock.advance(10 * MINUTE);
  t.clock.stepWall(-HOUR);
  const token = await t.bobLogout();
  t.outage.down = true;
  await assertRejects(() => t.revocation.logout(token), StoreUnavailableError);
  t.outage.down = false;
  // The IdP, told 503, sends it again before the retry.
  assertEquals(await t.revocation.logout(token), 1);
  assertEquals(await t.remaining(), ["a1"]);
  assertEquals(t.killed(), [5]);
});
