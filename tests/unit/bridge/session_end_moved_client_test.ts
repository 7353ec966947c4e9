/**
 * A session ended while another bridge instance sharing the store (Redis) rebinds it: the lock
 * is this process's, so between the caller's read and the delete the session may have moved to
 * another client. That client holds the session now and is the one disconnected, whether or not
 * the caller meant to kill its own; the cid it was read with is left alone.
 */
import { assertEquals } from "../../support/assert.ts";
import { KeyedLock } from "../../../src/bridge/keyed_lock.ts";
import { KILL_MESSAGE, killMessage, SessionEnd } from "../../../src/bridge/session_end.ts";

const REVOKED = killMessage("admin-revoke");
import { getLogger } from "../../../src/log.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import type { Session } from "../../../src/sessions/types.ts";
import { EVENTS_T0, testSession } from "../../support/client_events_fixture.ts";
import { RecordingCommander } from "../../support/recording_commander.ts";

/** Alice's session s-1 as the caller read it: bound to cid 4 on vpn1. */
const READ = testSession({ server: "vpn1", cid: 4 });

function setup() {
  const store = new MemoryStore({ maxEntries: 100, now: () => EVENTS_T0 });
  const servers = { vpn1: new RecordingCommander(), vpn2: new RecordingCommander() };
  const end = new SessionEnd({
    store,
    commanders: (server) => servers[server as keyof typeof servers],
    oidc: { revoke: () => Promise.resolve() },
    sessionLock: new KeyedLock(),
    log: getLogger("test"),
    now: () => EVENTS_T0,
  });
  const kills = (server: keyof typeof servers) =>
    servers[server].commands.filter((c) => c.kind === "kill");
  return { store, end, kills };
}

/** Another instance rebinds s-1 after the caller read it and before the delete. */
function rebindBeforeDelete(store: MemoryStore, to: Pick<Session, "server" | "cid">): void {
  const deleteSession = store.deleteSession.bind(store);
  store.deleteSession = async (sessionId) => {
    const current = await store.getSession(sessionId);
    if (current) await store.putSession({ ...current, ...to });
    return await deleteSession(sessionId);
  };
}

Deno.test("a session ended without a kill (its client left) that another instance rebound meanwhile has its new client killed", async () => {
  const t = setup();
  await t.store.putSession(READ);
  rebindBeforeDelete(t.store, { server: "vpn1", cid: 9 });
  // A DISCONNECT of cid 4: nothing to kill there, but cid 9 now holds a session that is gone.
  assertEquals(await t.end.endHeld(READ, "disconnected", { kill: false }), "killed");
  assertEquals(t.kills("vpn1"), [{ kind: "kill", cid: 9, message: KILL_MESSAGE }]);
  assertEquals(await t.store.getSession(READ.sessionId), undefined);
});

Deno.test("a session rebound to the same cid on another server is killed there, not on the server it was read on", async () => {
  const t = setup();
  await t.store.putSession(READ);
  rebindBeforeDelete(t.store, { server: "vpn2", cid: 4 });
  assertEquals(await t.end.endHeld(READ, "admin-revoke", { kill: true }), "killed");
  // cid 4 on vpn1 may be a stranger by now; vpn2's cid 4 is the client holding the session.
  assertEquals(t.kills("vpn1"), []);
  assertEquals(t.kills("vpn2"), [{ kind: "kill", cid: 4, message: REVOKED }]);
});

Deno.test("a session still bound where it was read is killed there, and not killed when the caller asks none", async () => {
  const t = setup();
  await t.store.putSession(READ);
  assertEquals(await t.end.endHeld(READ, "disconnected", { kill: false }), "none");
  assertEquals([t.kills("vpn1"), t.kills("vpn2")], [[], []]);
  await t.store.putSession(READ);
  assertEquals(await t.end.endHeld(READ, "admin-revoke", { kill: true }), "killed");
  assertEquals(t.kills("vpn1"), [{ kind: "kill", cid: 4, message: REVOKED }]);
});
