/**
 * A back-channel logout or an admin's revoke that the store fails with something other than an
 * outage is kept and carried out later all the same: dropped, its sessions stayed and their
 * clients connected until they expired (Keycloak does not send a logout again). A session file
 * locked by another process past busy_timeout is such a fault, now told as the store unavailable;
 * only a closed store's refusal (the service stopping) is not kept.
 */
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertMatch, assertRejects } from "../../support/assert.ts";
import { FakeClock } from "../../support/fake_clock.ts";
import { testRevocation } from "../../support/revocation_fixture.ts";
import { RevokeDeferredError } from "../../../src/bridge/revocation.ts";
import { KILL_MESSAGE, killMessage } from "../../../src/bridge/session_end.ts";
import type { VerifiedLogout } from "../../../src/oidc/logout_verifier.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import { BUSY_TIMEOUT_MS } from "../../../src/sessions/sqlite_file.ts";
import { SqliteStore } from "../../../src/sessions/sqlite_store.ts";
import { StoreClosedError } from "../../../src/sessions/store_closed.ts";
import { StoreUnavailableError } from "../../../src/sessions/store_unavailable.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import type { SessionStore } from "../../../src/sessions/types.ts";
import { session, T0 } from "../sessions/fixtures.ts";

/** The verifier's verdict on any token: a logout of IdP session `sso-1` (Alice's s1). */
function verifyLogout(): Promise<VerifiedLogout> {
  return Promise.resolve({
    sid: "sso-1",
    sub: undefined,
    jti: "jti-1",
    replayUntil: T0 + 60_000,
    forget: () => {},
  });
}

function setup(store: SessionStore, clock: FakeClock) {
  const { revocation, commander: vpn1 } = testRevocation({
    store,
    verifyLogoutToken: verifyLogout,
    clock,
  });
  const kills = () => vpn1.commands.map((c) => c.kind === "kill" && `${c.cid} ${c.message}`);
  return { revocation, kills };
}

const ALICE = session({ sessionId: "s1", cid: 4, sid: "sso-1", username: "alice" });
const BOB = session({ sessionId: "s2", cid: 5, sid: "sso-2", username: "bob", subject: "u-2" });

/** Lets a retry that a timer started run to its end (store calls, kills). */
async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test(`a logout while another process holds the session file's write lock past busy_timeout (${BUSY_TIMEOUT_MS} ms, not an option of the store) is told as the store unavailable, kept, and carried out once the lock is released`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "revocation-lock-test-" });
  const path = `${dir}/sessions.sqlite`;
  const clock = new FakeClock(T0);
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const store = await SqliteStore.open({ path, cipher, maxEntries: 100, now: clock.now });
  const holder = new DatabaseSync(path);
  try {
    await store.putSession(ALICE);
    await store.putSession(BOB);
    const t = setup(store, clock);
    // An admin's sqlite3 shell, a backup tool: reads go on (WAL), writes wait and then fail.
    holder.exec("BEGIN IMMEDIATE");
    const error = await assertRejects(() => t.revocation.logout("token"), StoreUnavailableError);
    assertMatch(error.message, /^Session store unavailable: .*database is locked \(SQLITE_BUSY\)$/);
    assertEquals(t.revocation.held, 1);
    assertEquals([(await store.getSession("s1"))?.sessionId, t.kills()], ["s1", []]);

    holder.exec("ROLLBACK");
    clock.advance(1_000);
    await drain();
    assertEquals(t.revocation.held, 0);
    assertEquals(await store.getSession("s1"), undefined);
    assertEquals(t.kills(), [`4 ${KILL_MESSAGE}`]);
    assertEquals((await store.getSession("s2"))?.sessionId, "s2");
    t.revocation.close();
  } finally {
    holder.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A memory store whose deletes fail with `failure` while it is set. */
async function failingDeletes(clock: FakeClock) {
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  await store.putSession(ALICE);
  await store.putSession(BOB);
  const state: { failure: Error | undefined } = { failure: undefined };
  const deleteSession = store.deleteSession.bind(store);
  store.deleteSession = (id) =>
    state.failure === undefined ? deleteSession(id) : Promise.reject(state.failure);
  return { store, state };
}

Deno.test("a logout the store fails with an error that is not an outage is kept all the same (LogoutDeferredError, for a 503), and carried out once the store takes it", async () => {
  const clock = new FakeClock(T0);
  const { store, state } = await failingDeletes(clock);
  const t = setup(store, clock);
  // Whatever the store says (a reply no class of ours knows, a damaged page): fail closed.
  state.failure = new Error("WRONGTYPE Operation against a key holding the wrong kind of value");
  const error = await assertRejects(() => t.revocation.logout("token"));
  // By name: the class is the back-channel endpoint's to tell (backchannel_logout_test.ts).
  assertEquals(error.name, "LogoutDeferredError");
  assertEquals(
    error.message,
    "Back-channel logout not carried out, kept: WRONGTYPE Operation against a key holding " +
      "the wrong kind of value",
  );
  assertEquals(error.cause, state.failure);
  assertEquals(t.revocation.held, 1);
  clock.advance(1_000);
  await drain();
  // Still failing: still kept, tried again later.
  assertEquals([t.revocation.held, t.kills()], [1, []]);
  state.failure = undefined;
  clock.advance(2_000);
  await drain();
  assertEquals(t.revocation.held, 0);
  assertEquals(await store.getSession("s1"), undefined);
  assertEquals(t.kills(), [`4 ${KILL_MESSAGE}`]);
  t.revocation.close();
});

Deno.test("an admin revoke the store fails with an error that is not an outage says it is kept, and is carried out once the store takes it", async () => {
  const clock = new FakeClock(T0);
  const { store, state } = await failingDeletes(clock);
  const t = setup(store, clock);
  state.failure = new Error("database disk image is malformed");
  await assertRejects(
    () => t.revocation.revoke({ kind: "user", username: "bob" }),
    RevokeDeferredError,
    "Session store failed: the revoke is kept and carried out once the store answers",
  );
  assertEquals(t.revocation.held, 1);
  state.failure = undefined;
  clock.advance(1_000);
  await drain();
  assertEquals([t.revocation.held, await store.getSession("s2")], [0, undefined]);
  assertEquals(t.kills(), [`5 ${killMessage("admin-revoke")}`]);
  t.revocation.close();
});

Deno.test("a logout or revoke refused by a closed store (the service stopping) is not kept: its error is thrown as it is", async () => {
  const clock = new FakeClock(T0);
  const store = new MemoryStore({ maxEntries: 100, now: clock.now });
  await store.putSession(ALICE);
  const t = setup(store, clock);
  await store.close();
  await assertRejects(() => t.revocation.logout("token"), StoreClosedError, "is closed");
  await assertRejects(
    () => t.revocation.revoke({ kind: "user", username: "alice" }),
    StoreClosedError,
    "is closed",
  );
  assertEquals([t.revocation.held, clock.pendingTimers], [0, 0]);
  t.revocation.close();
});
