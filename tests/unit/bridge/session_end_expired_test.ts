/**
 * Sessions that end by expiry: the sweep hands on those that held a refresh token
 * (SessionStore.sweep) and SessionEnd.endExpired revokes each token as any ended session's is,
 * with an audit line. Before, the sweep deleted them silently and their tokens lived on at the
 * IdP (a Keycloak offline session for 30 days per VPN sign-in).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import type { SessionEndDeps } from "../../../src/bridge/session_end.ts";
import { UnstoredRefreshTokens } from "../../../src/bridge/unstored_refresh_tokens.ts";
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { EVENTS_T0, testSession } from "../../support/client_events_fixture.ts";
import { logsOf } from "../../support/log_capture.ts";
import { recordingSessionEnd } from "../../support/session_end_fixture.ts";

/** When the sweep runs: alice's session s-1 (rt-1) expired a minute before. */
const SWEPT_AT = EVENTS_T0 + 3_600_000;
const EXPIRED = testSession({ expiresAt: SWEPT_AT - 60_000, resumable: true, cid: undefined });

function setup(deps: Partial<SessionEndDeps> = {}) {
  const store = new MemoryStore({ maxEntries: 100, now: () => SWEPT_AT });
  const { end, revoked } = recordingSessionEnd(store, { now: () => SWEPT_AT, ...deps });
  /** The daemon's sweeper: the store's sweep handing its expired sessions to SessionEnd. */
  const sweep = () => store.sweep(SWEPT_AT, (swept) => end.endExpired(swept));
  return { store, end, revoked, sweep };
}

Deno.test("an expired session's refresh token is revoked at the sweep, with an audit line and no token logged", async () => {
  const t = setup();
  await t.store.putSession(EXPIRED);
  await t.store.putSession(testSession({ sessionId: "s-live", refreshToken: "rt-live" }));
  await t.store.putSession(
    testSession({ sessionId: "s-bare", refreshToken: undefined, expiresAt: SWEPT_AT - 1 }),
  );
  const logs = await logsOf(async () => {
    assertEquals(await t.sweep(), { pending: 0, sessions: 2 });
  });
  assertEquals(t.revoked, ["rt-1"]);
  const audits = logs.filter((line) => line.category === "audit");
  assertEquals(audits.map((line) => [line.properties.event, line.properties.reason]), [
    ["session_ended", "expired"],
  ]);
  assertEquals(audits[0]!.properties.username, "alice");
  assert(!JSON.stringify(logs).includes("rt-"), JSON.stringify(logs));
  assertEquals(await t.sweep(), { pending: 0, sessions: 0 });
  assertEquals(t.revoked, ["rt-1"], "revoked once");
});

Deno.test("an expired session's token is not revoked while a live session shares its IdP session; one without a sid is", async () => {
  const t = setup();
  await t.store.putSession({ ...EXPIRED, sid: "sso-1" });
  await t.store.putSession(testSession({ sessionId: "s-2", sid: "sso-1", refreshToken: "rt-2" }));
  await t.store.putSession(
    testSession({
      sessionId: "s-3",
      sid: undefined,
      refreshToken: "rt-3",
      expiresAt: SWEPT_AT - 1,
    }),
  );
  await t.sweep();
  // Keycloak keeps one client session per SSO session: revoking rt-1 would end s-2's grant.
  assertEquals(t.revoked, ["rt-3"]);
});

Deno.test("with oidc.revoke_refresh_tokens = false an expired session's token is not revoked, nor its grant looked up", async () => {
  const t = setup({ revokeRefreshTokens: false });
  await t.store.putSession({ ...EXPIRED, sid: "sso-1" });
  let looked = 0;
  const find = t.store.findSessionsBySid.bind(t.store);
  t.store.findSessionsBySid = (sid) => (looked++, find(sid));
  const logs = await logsOf(() => t.sweep());
  assertEquals(t.revoked, []);
  assertEquals(looked, 0);
  assertEquals(
    logs.filter((line) => line.category === "audit").map((line) => line.properties.reason),
    ["expired"],
    "still audited",
  );
});

Deno.test("a refresh token already expired at the IdP is not revoked at the sweep", async () => {
  const t = setup();
  await t.store.putSession({ ...EXPIRED, refreshExpiresAt: SWEPT_AT - 1 });
  await t.store.putSession(
    testSession({
      sessionId: "s-2",
      refreshToken: "rt-2",
      refreshExpiresAt: SWEPT_AT + 60_000,
      expiresAt: SWEPT_AT - 1,
    }),
  );
  await t.sweep();
  assertEquals(t.revoked, ["rt-2"]);
});

const expiredWithSid = (i: number): Session =>
  testSession({ sessionId: `s-${i}`, sid: `sso-${i}`, refreshToken: `rt-${i}`, expiresAt: 1 });

Deno.test("in a store without liveSids (file, Redis), expired sessions' grants are looked up one at a time, and a failed look skips that token alone", async () => {
  const t = setup();
  // As the file and Redis stores: their lookup by sid reads an index.
  Object.defineProperty(t.store, "liveSids", { value: undefined });
  for (let i = 0; i < 5; i++) await t.store.putSession(expiredWithSid(i));
  let open = 0;
  let mostOpen = 0;
  const find = t.store.findSessionsBySid.bind(t.store);
  t.store.findSessionsBySid = async (sid) => {
    mostOpen = Math.max(mostOpen, ++open);
    await new Promise((resolve) => setTimeout(resolve, 1));
    open--;
    if (sid === "sso-2") throw new Error("store unavailable");
    return await find(sid);
  };
  assertEquals(await t.sweep(), { pending: 0, sessions: 5 });
  assertEquals(mostOpen, 1);
  assertEquals(t.revoked.sort(), ["rt-0", "rt-1", "rt-3", "rt-4"]);
});

Deno.test("a store that can only scan (memory) is asked once for the whole batch's sids, not once per session; a failed look revokes none of the batch", async () => {
  const t = setup();
  for (let i = 0; i < 5; i++) await t.store.putSession(expiredWithSid(i));
  // A live session of sso-3's IdP session: rt-3 shares its grant.
  await t.store.putSession(
    testSession({ sessionId: "s-live", sid: "sso-3", refreshToken: "rt-l" }),
  );
  const asked: string[][] = [];
  const liveSids = t.store.liveSids.bind(t.store);
  t.store.liveSids = (sids) => {
    asked.push([...sids].sort());
    return liveSids(sids);
  };
  t.store.findSessionsBySid = () => Promise.reject(new Error("one look per session"));
  assertEquals(await t.sweep(), { pending: 0, sessions: 5 });
  assertEquals(asked, [["sso-0", "sso-1", "sso-2", "sso-3", "sso-4"]]);
  assertEquals(t.revoked.sort(), ["rt-0", "rt-1", "rt-2", "rt-4"]);

  for (let i = 0; i < 3; i++) await t.store.putSession(expiredWithSid(i));
  t.store.liveSids = () => Promise.reject(new Error("store unavailable"));
  const before = t.revoked.length;
  assertEquals(await t.sweep(), { pending: 0, sessions: 3 });
  assertEquals(t.revoked.length, before, "nothing revoked that may share a grant");
});

Deno.test("an expired session whose rotated token only this process kept has that token revoked, and forgotten", async () => {
  const unstored = new UnstoredRefreshTokens(getLogger("test"));
  const t = setup({ unstoredRefreshTokens: unstored });
  await t.store.putSession(EXPIRED);
  // The IdP rotated rt-1 into rt-2 at a refresh whose write of the session failed.
  unstored.keep(EXPIRED.sessionId, "rt-1", { refreshToken: "rt-2", refreshExpiresAt: undefined });
  await t.sweep();
  assertEquals(t.revoked, ["rt-2"]);
  assertEquals(unstored.apply(EXPIRED).refreshToken, "rt-1", "forgotten");
});
