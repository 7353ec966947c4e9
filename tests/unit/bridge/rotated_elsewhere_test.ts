/**
 * Two bridge instances sharing a store refresh one session at once, at an IdP that rotates
 * refresh tokens and refuses a reused one (Glewlwyd, Auth0 rotation): the session lock is each
 * process's own, so both present the same token, and the loser's invalid_grant says nothing about
 * the grant. The loser must not end the session the winner has just stored with the new token,
 * nor revoke the dead one in its place. (Keycloak's "Revoke Refresh Token" also ends the client
 * session on a reuse, the winner's new token with it: there the race ends the session, and the
 * README says to leave that setting off.)
 */
import { assertEquals } from "../../support/assert.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import { IdpRejectedError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { EVENTS_T0, testAdmission, testSession } from "../../support/client_events_fixture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

const T0 = EVENTS_T0;
const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };

/**
 * An IdP whose refresh tokens are good once (rt-1, then rt-2, ...). A grant's answer is held
 * until the next refresh has reached the IdP, so that two refreshes overlap as two instances'
 * would; a refusal comes back a little later than the grant it lost to (after the winner has
 * stored its token). `refuse`: tokens refused even when valid (the user was disabled).
 */
function oneUseIdp(refuse: ReadonlySet<string> = new Set()) {
  let live = "rt-1";
  let issued = 1;
  const presented: string[] = [];
  let nextArrived = () => {};
  const refresh = async (token: string): Promise<RefreshResult> => {
    presented.push(token);
    nextArrived();
    if (token !== live || refuse.has(token)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new IdpRejectedError(`invalid_grant: refresh token ${token} is not valid`);
    }
    live = `rt-${++issued}`;
    const answer = { claims: ALICE, refreshToken: live, refreshExpiresAt: undefined, idToken: "x" };
    if (presented.length === 1) await new Promise<void>((resolve) => nextArrived = resolve);
    return answer;
  };
  return { refresh, presented };
}

/** Instances A and B of one cluster, sharing the store and the IdP, each with its own lock. */
function cluster(refuse?: ReadonlySet<string>) {
  const store = new MemoryStore({ maxEntries: 100, now: () => T0 });
  const idp = oneUseIdp(refuse);
  const instance = () =>
    testAdmission({ store, now: () => T0, reauthCheck: "refresh", refresh: idp.refresh });
  return { store, idp, a: instance(), b: instance() };
}

/** Until the IdP has had `count` refreshes. */
async function refreshesSent(presented: readonly string[], count: number): Promise<void> {
  while (presented.length < count) await new Promise((resolve) => setTimeout(resolve, 1));
}

const RECONNECT = {
  kind: "connect",
  server: "s2",
  cid: 9,
  kid: 1,
  commonName: "alice",
  clientIp: "198.51.100.7",
  username: "alice",
} as const;

Deno.test("a reconnect refused because another instance's re-check rotated the token is asked again with the stored token, and admitted", async () => {
  const { store, idp, a, b } = cluster();
  const stored = testSession({ resumable: true });
  await store.putSession(stored);
  // A's periodic re-check reaches the IdP first; B's reconnect presents rt-1 too.
  const recheck = a.admission.recheckSession("s-1", "default");
  await refreshesSent(idp.presented, 1);
  const commander = new RecordingCommander();
  const resumed = b.admission.resume(RECONNECT, stored, commander, {
    resumable: true,
    refresh: true,
  });
  assertEquals((await recheck)?.admit, true);
  assertEquals(await resumed, "answered");
  assertEquals(commander.commands.map((c) => c.kind), ["auth"]);
  const session = await store.getSession("s-1");
  assertEquals([session?.refreshToken, session?.server, session?.cid], ["rt-3", "s2", 9]);
  assertEquals(idp.presented, ["rt-1", "rt-1", "rt-2"]);
  assertEquals([a.revoked, b.revoked, a.killed, b.killed], [[], [], [], []]);
});

Deno.test("a periodic re-check refused because another instance's reconnect rotated the token skips the round and ends nothing", async () => {
  const { store, idp, a, b } = cluster();
  const stored = testSession({ resumable: true });
  await store.putSession(stored);
  const commander = new RecordingCommander();
  const resumed = b.admission.resume(RECONNECT, stored, commander, {
    resumable: true,
    refresh: true,
  });
  await refreshesSent(idp.presented, 1);
  const recheck = a.admission.recheckSession("s-1", "default");
  assertEquals(await resumed, "answered");
  assertEquals(await recheck, undefined);
  assertEquals(idp.presented, ["rt-1", "rt-1"]);
  assertEquals(commander.commands.map((c) => c.kind), ["auth"]);
  assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-2");
  assertEquals([a.revoked, b.revoked, a.killed, b.killed], [[], [], [], []]);
});

Deno.test("a reconnect asked again after another instance rotated the token is denied when the IdP refuses that token too, and the live token is revoked", async () => {
  const { store, idp, a, b } = cluster(new Set(["rt-2"]));
  const stored = testSession({ resumable: true });
  await store.putSession(stored);
  const recheck = a.admission.recheckSession("s-1", "default");
  await refreshesSent(idp.presented, 1);
  const commander = new RecordingCommander();
  const resumed = b.admission.resume(RECONNECT, stored, commander, {
    resumable: true,
    refresh: true,
  });
  await recheck;
  assertEquals(await resumed, "answered");
  assertEquals(idp.presented, ["rt-1", "rt-1", "rt-2"]);
  assertEquals(commander.commands.map((c) => c.kind), ["deny"]);
  assertEquals(await store.getSession("s-1"), undefined);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(b.revoked, ["rt-2"]);
});
