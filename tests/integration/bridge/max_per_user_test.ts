/**
 * `sessions.max_per_user` with the real bridge, the Keycloak-like IdP and a scripted OpenVPN
 * management server: a second login of the same user ends the first session and kills its
 * client (kill_oldest), or is refused (deny_new).
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { openSessionStore } from "../../../src/sessions/open_store.ts";
import { collectPages } from "../../../src/sessions/list_chunk.ts";
import type { SessionStore } from "../../../src/sessions/types.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

async function signIn(h: BridgeHarness, cid: number, sessionId: string, user = "alice") {
  const url = await h.connect(cid, { session_id: sessionId, common_name: `${user}-${cid}` });
  const mark = h.openvpn.received.length;
  const page = await h.browserLogin(url, user, `${user}-password`);
  return { page, mark };
}

async function withStore<T>(h: BridgeHarness, work: (store: SessionStore) => Promise<T>) {
  const store = await openSessionStore(h.config.sessions, h.config.http.secret);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function sessionIds(h: BridgeHarness): Promise<string[]> {
  return withStore(
    h,
    async (store) => (await collectPages(store.sessionPages())).map((s) => s.sessionId).sort(),
  );
}

/**
 * Waits until everything the last event of s-second (now on `cid`) caused is done. The bridge
 * handles events of different clients at once, so a marker on another cid alone (the malformed
 * block, answered at once) only shows that the bridge has read what came before it; a REAUTH
 * of the same session is the barrier: it is handled under the session's lock, so it is
 * answered only after the event before it (and whatever that event ended) has finished.
 */
async function settled(h: BridgeHarness, cid: number, kid: number): Promise<void> {
  const mark = h.openvpn.received.length;
  h.openvpn.sendClientBlock(
    "REAUTH",
    cid,
    kid,
    clientEnv({ session_id: "s-second", common_name: "alice-1" }),
  );
  await h.waitForCommand(mark, (line) => line === `client-auth-nt ${cid} ${kid}`);
  h.openvpn.sendLines([">CLIENT:CONNECT,99,1", ">CLIENT:ENV,=x", ">CLIENT:ENV,END"]);
  await h.waitForCommand(mark, (line) => line.startsWith('client-deny 99 1 "malformed request"'));
}

/** The kill of the displaced client: its user is told why. */
const DISPLACED = 'client-kill 0 "RESTART,You signed in on another device"';

Deno.test("max_per_user = 1: a second login of the same user kills the first client and ends its session", async () => {
  const h = await BridgeHarness.start({ sessions: "file", sessionsToml: "max_per_user = 1" });
  try {
    const first = await signIn(h, 0, "s-first");
    assertEquals(first.page.status, 200);
    await h.waitForCommand(first.mark, (line) => line === "client-auth 0 1");
    // Bob's session is another user's: untouched by alice's limit.
    const bob = await signIn(h, 5, "s-bob", "bob");
    assertEquals(bob.page.status, 403, "bob is not in an allowed group");

    const second = await signIn(h, 1, "s-second");
    assertEquals(second.page.status, 200);
    await h.waitForCommand(second.mark, (line) => line === DISPLACED);
    const commands = h.commandsSince(second.mark);
    assert(
      commands.indexOf("client-auth 1 1") < commands.indexOf(DISPLACED),
      `The new client is let in before the old one goes: ${commands.join(" | ")}`,
    );
    assertEquals(commands.filter((line) => line.startsWith("client-kill")).length, 1);
    assertEquals(await sessionIds(h), ["s-second"]);

    // Alice also holds an older session on cid 9, as from before the limit was lowered (or
    // from an instance without it): over the limit, but only a new login may end it. A limit
    // wrongly applied when a session resumes would end it and kill cid 9.
    await withStore(h, async (store) => {
      const current = await store.getSession("s-second");
      assert(current !== undefined, "s-second is stored");
      await store.putSession({
        ...current,
        sessionId: "s-older",
        commonName: "alice-9",
        cid: 9,
        createdAt: current.createdAt - 60_000,
        lastAuthAt: current.lastAuthAt - 60_000,
      });
    });
    assertEquals(await sessionIds(h), ["s-older", "s-second"]);

    // A renegotiation of a session is no new login: nothing is killed.
    const reauth = h.openvpn.received.length;
    h.openvpn.sendClientBlock(
      "REAUTH",
      1,
      2,
      clientEnv({ session_id: "s-second", common_name: "alice-1" }),
    );
    await h.waitForCommand(reauth, (line) => line === "client-auth-nt 1 2");
    // A kill from the limit would come after the answer: wait until the event is done.
    await settled(h, 1, 3);
    assertEquals(h.commandsSince(reauth).filter((line) => line.startsWith("client-kill")), []);
    assertEquals(await sessionIds(h), ["s-older", "s-second"]);

    // Nor is a reconnect with the session's token (a new cid, as after a network change).
    const reconnect = h.openvpn.received.length;
    h.openvpn.sendClientBlock(
      "CONNECT",
      7,
      1,
      clientEnv({ session_id: "s-second", session_state: "Authenticated", common_name: "alice-1" }),
    );
    await h.waitForCommand(reconnect, (line) => line === "client-auth 7 1");
    await settled(h, 7, 2);
    assertEquals(
      h.commandsSince(reconnect).filter((line) => line.startsWith("client-kill")),
      [],
    );
    assertEquals(await sessionIds(h), ["s-older", "s-second"]);
  } finally {
    await h.stop();
  }
});

Deno.test("max_per_user = 2 with deny_new: the third login is refused and the first two stay", async () => {
  const h = await BridgeHarness.start({
    sessions: "memory",
    sessionsToml: 'max_per_user = 2\nmax_per_user_action = "deny_new"',
  });
  try {
    for (const [cid, id] of [[0, "s-1"], [1, "s-2"]] as const) {
      const login = await signIn(h, cid, id);
      assertEquals(login.page.status, 200);
      await h.waitForCommand(login.mark, (line) => line === `client-auth ${cid} 1`);
    }
    const third = await signIn(h, 2, "s-3");
    assertEquals(third.page.status, 403);
    assert(/maximum number of VPN sessions/.test(third.page.text), third.page.text);
    // Halted: refused again at every retry until one of her sessions ends (refusal.ts).
    const halt = await h.waitForCommand(third.mark, (line) => line.startsWith("client-kill 2 "));
    assert(/"HALT,You already have the maximum number of VPN sessions/.test(halt), halt);
    // Her two sessions' clients stay.
    assertEquals(
      h.commandsSince(third.mark).filter((line) => line.startsWith("client-kill")),
      [halt],
    );
  } finally {
    await h.stop();
  }
});

Deno.test("max_per_user = 1 with deny_new: a user who quit the client signs in again; the session her client left ends, it does not refuse her", async () => {
  const h = await BridgeHarness.start({
    sessions: "file",
    sessionsToml: 'max_per_user = 1\nmax_per_user_action = "deny_new"',
  });
  try {
    // A client that sends a user name: its session is kept at DISCONNECT, for OpenVPN's token.
    const url = await h.connect(0, {
      session_id: "s-first",
      common_name: "alice-0",
      username: "alice",
    });
    const first = await h.browserLogin(url, "alice", "alice-password");
    assertEquals(first.status, 200);
    h.openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv({ common_name: "alice-0" }));
    await pollUntil(
      "the session to be unbound",
      async () => {
        const store = await openSessionStore(h.config.sessions, h.config.http.secret);
        try {
          const kept = await store.getSession("s-first");
          return kept !== undefined && kept.cid === undefined || undefined;
        } finally {
          await store.close();
        }
      },
      5000,
      20,
    );
    // Quit, so the token is gone: a new browser sign-in.
    const second = await signIn(h, 1, "s-second");
    assertEquals(second.page.status, 200, second.page.text);
    await h.waitForCommand(second.mark, (line) => line === "client-auth 1 1");
    assertEquals(
      h.commandsSince(second.mark).some((line) => line.startsWith("client-kill")),
      false,
    );
    assertEquals(await sessionIds(h), ["s-second"]);
  } finally {
    await h.stop();
  }
});
