/**
 * A session whose rotated refresh token only this process keeps (the store could not take it:
 * unstored_refresh_tokens.ts), ended by something that reads it from the store, where it holds
 * the dead token: the DISCONNECT of a client that cannot resume, an admin's revoke (or a logout,
 * max_per_user: SessionEnd.endAll). The live token is revoked at the IdP too, and the kept
 * entry forgotten; before, only the dead one was revoked, the live grant stayed valid at the
 * IdP (a Keycloak offline session for up to 30 days), and the entry stayed in memory.
 */
import { assertEquals, assertRejects } from "../../support/assert.ts";
import type { RefreshResult } from "../../../src/oidc/client.ts";
import { IdpRejectedError } from "../../../src/oidc/errors.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testSession,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const ALICE = { sub: "u-1", preferred_username: "alice", groups: ["/vpn-users"] };

/** An IdP whose refresh tokens are good once: rt-1, then rt-2, ... */
function oneUseRefresh(): (token: string) => Promise<RefreshResult> {
  let live = "rt-1";
  let issued = 1;
  return (token) => {
    if (token !== live) {
      return Promise.reject(new IdpRejectedError(`invalid_grant: ${token} is not valid`));
    }
    live = `rt-${++issued}`;
    return Promise.resolve({
      claims: ALICE,
      refreshToken: live,
      refreshExpiresAt: undefined,
      idToken: "x",
    });
  };
}

/**
 * Alice's non-resumable session s-1 (rt-1) on cid 4, re-checked at her REAUTH while the store's
 * writes fail: the IdP rotated rt-1 into rt-2, which only this process keeps. Writes work again
 * afterwards.
 */
async function reauthedWhileWritesFail() {
  const store = new MemoryStore({ maxEntries: 100, now: () => EVENTS_T0 });
  const update = store.updateSession.bind(store);
  const down = { writes: true };
  store.updateSession = (session) =>
    down.writes
      ? Promise.reject(new StoreUnavailableError("Redis did not answer within store_timeout"))
      : update(session);
  const t = testClientEvents({
    store,
    clock: new FakeClock(EVENTS_T0),
    reauthCheck: "refresh",
    refresh: oneUseRefresh(),
  });
  const stored = testSession();
  await store.putSession(stored);
  // Thrown on: the server link answers it with a deny (server_link.ts).
  await assertRejects(() => t.events.onReauth(4, 3, testEnv({})), StoreUnavailableError);
  down.writes = false;
  assertEquals((await store.getSession("s-1"))?.refreshToken, "rt-1");
  assertEquals(t.unstoredRefreshTokens.apply(stored).refreshToken, "rt-2");
  return { store, stored, ...t };
}

Deno.test("the DISCONNECT of a client that cannot resume revokes the rotated token the store never took, and forgets it", async () => {
  const t = await reauthedWhileWritesFail();
  await t.events.onDisconnect(4);
  assertEquals(await t.store.getSession("s-1"), undefined);
  // rt-1 too: revoking the dead one is harmless (session_end.ts, tokensToRevoke).
  assertEquals(t.revoked.toSorted(), ["rt-1", "rt-2"]);
  assertEquals(t.unstoredRefreshTokens.apply(t.stored), t.stored);
  t.events.close();
});

Deno.test("an admin's revoke of a session whose rotated token the store never took revokes that token, and forgets it", async () => {
  const t = await reauthedWhileWritesFail();
  assertEquals(await t.sessionEnd.endAll(["s-1"], "admin-revoke"), {
    ended: 1,
    stillConnected: [],
  });
  assertEquals(await t.store.getSession("s-1"), undefined);
  assertEquals(t.revoked.toSorted(), ["rt-1", "rt-2"]);
  assertEquals(t.unstoredRefreshTokens.apply(t.stored), t.stored);
  t.events.close();
});
