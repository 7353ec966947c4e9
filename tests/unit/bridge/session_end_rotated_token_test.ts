/**
 * Which refresh token an ended session's revocation sends to the IdP. At an IdP that rotates
 * refresh tokens (Keycloak "Revoke Refresh Token", Glewlwyd), the copy of the session the caller
 * read may hold a token another refresh has replaced since (another bridge instance sharing the
 * store, the re-check); revoking that dead one left the live one, in the store, valid at the
 * IdP. The store's removal hands back the token the entry held as it went (types.ts,
 * RemovedSession), and that one is revoked.
 */
import { assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { EVENTS_T0, testSession } from "../../support/client_events_fixture.ts";
import { recordingSessionEnd } from "../../support/session_end_fixture.ts";

/** Alice's session s-1 as the caller read it: rt-1, bound to cid 4. */
const READ = testSession({ resumable: true });

function setup() {
  const store = new MemoryStore({ maxEntries: 100, now: () => EVENTS_T0 });
  const { end, revoked } = recordingSessionEnd(store);
  return { store, end, revoked };
}

/** What another bridge instance's refresh of s-1 stores: the token the IdP rotated it to. */
async function rotateStored(store: MemoryStore, refreshToken: string): Promise<void> {
  const current = await store.getSession(READ.sessionId);
  assertEquals(await store.updateSession({ ...current!, refreshToken }), true);
}

Deno.test("a session ended with a copy read before its token was rotated revokes the token stored since", async () => {
  const t = setup();
  await t.store.putSession(READ);
  await rotateStored(t.store, "rt-2");
  await t.end.endHeld(READ, "recheck-denied", { kill: false });
  assertEquals(await t.store.getSession(READ.sessionId), undefined);
  // rt-1 too: the caller's copy may be the live one (session_end.ts, tokensToRevoke).
  assertEquals(t.revoked, ["rt-2", "rt-1"]);
});

Deno.test("a logout whose session's token is rotated between its read and its delete revokes the rotated token", async () => {
  const t = setup();
  await t.store.putSession(READ);
  // Another bridge instance's re-check stores rt-2 after endAll has read the session (the
  // session lock is this process's).
  const deleteSession = t.store.deleteSession.bind(t.store);
  t.store.deleteSession = async (sessionId) => {
    await rotateStored(t.store, "rt-2");
    return await deleteSession(sessionId);
  };
  assertEquals(await t.end.endAll([READ.sessionId], "backchannel-logout"), {
    ended: 1,
    stillConnected: [],
  });
  assertEquals(t.revoked, ["rt-2", "rt-1"]);
});

Deno.test("a session ended with the token it was read with revokes it once", async () => {
  const t = setup();
  await t.store.putSession(READ);
  await t.end.endHeld(READ, "admin-revoke", { kill: false });
  assertEquals(t.revoked, ["rt-1"]);
});

Deno.test("a re-check's rotated token, newer than the stored one, is the one revoked, once", async () => {
  const t = setup();
  await t.store.putSession(READ);
  await t.end.endHeld(READ, "recheck-denied", { kill: false, refreshToken: "rt-2" });
  assertEquals(t.revoked, ["rt-2"]);
});

Deno.test("a caller holding a token the store never took (a failed write) revokes it as well as the stored one", async () => {
  const t = setup();
  await t.store.putSession(READ);
  // unstored_refresh_tokens.ts: the caller's copy holds rt-2, the store the dead rt-1.
  await t.end.endHeld({ ...READ, refreshToken: "rt-2" }, "recheck-denied", { kill: false });
  assertEquals(t.revoked, ["rt-1", "rt-2"]);
});

Deno.test("a session already removed (by another bridge instance) revokes the caller's copy", async () => {
  const t = setup();
  await t.end.endHeld(READ, "disconnected", { kill: false });
  assertEquals(t.revoked, ["rt-1"]);
});

Deno.test("neither token is revoked while another session of the same IdP session lives, nor an expired one's", async () => {
  const t = setup();
  const read: Session = { ...READ, sid: "sso-1" };
  await t.store.putSession(read);
  await t.store.putSession({ ...read, sessionId: "s-2", cid: 5, refreshToken: "other" });
  await rotateStored(t.store, "rt-2");
  await t.end.endHeld(read, "recheck-denied", { kill: false });
  await t.end.endHeld({ ...READ, sessionId: "s-2" }, "idp-session-expired", { kill: false });
  assertEquals(t.revoked, []);
});
