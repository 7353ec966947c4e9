/**
 * Certificate-only clients and OpenVPN's token. The bridge has OpenVPN issue the token with a
 * user name (`auth-token-user`), and OpenVPN 2.6.14 was measured to present it (no
 * auth-user-pass, `setenv IV_SSO webauth`):
 *
 *   >CLIENT:CONNECT,0,1  session_id=eKRg4zT9P71faNZr session_state=Initial  password=<0 chars>
 *   >CLIENT:REAUTH,0,3   session_id=eKRg4zT9P71faNZr session_state=AuthenticatedEmptyUser
 *   (client SIGUSR1)
 *   >CLIENT:CONNECT,1,1  session_id=eKRg4zT9P71faNZr session_state=AuthenticatedEmptyUser
 *   >CLIENT:DISCONNECT,0
 *
 * Here the old cid's DISCONNECT comes first (a laptop asleep past keepalive), before any REAUTH.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { MemoryStore } from "../../../src/sessions/memory_store.ts";
import {
  EVENTS_T0,
  testClientEvents,
  testEnv,
  testFinishedLogin,
} from "../../support/client_events_fixture.ts";
import { FakeClock } from "../../support/fake_clock.ts";

const SESSION_ID = "eKRg4zT9P71faNZr";

function setup() {
  const clock = new FakeClock(EVENTS_T0);
  const store = new MemoryStore({ maxEntries: 100, now: () => clock.now() });
  return { store, ...testClientEvents({ store, clock }) };
}

/** The ENV of the measured certificate-only client (no user name, no password). */
function clientEnv(sessionState: string, ivVer: string): Map<string, string> {
  return testEnv({
    session_id: SESSION_ID,
    session_state: sessionState,
    username: "",
    password: "",
    IV_VER: ivVer,
    IV_PLAT: "linux",
    untrusted_ip: "198.51.100.7",
  });
}

/** The browser sign-in of the login the CONNECT began, finished at the IdP as alice. */
async function signIn(t: ReturnType<typeof setup>): Promise<void> {
  const pending = t.commander.commands.find((command) => command.kind === "pending");
  assert(pending !== undefined, "the CONNECT was not sent to the browser");
  const login = await t.store.takePending(pending.url.split("/").pop()!);
  assert(login !== undefined, "no pending login for the CONNECT");
  const outcome = await t.admission.admitLogin(testFinishedLogin(login), t.commander);
  assertEquals(outcome.kind, "admitted");
}

Deno.test("a certificate-only 2.6 client whose DISCONNECT comes before its first REAUTH reconnects with its token without a browser, nothing revoked", async () => {
  const t = setup();
  await t.events.onConnect(0, 1, clientEnv("Initial", "2.6.14"));
  await signIn(t);
  const auth = t.commander.commands.at(-1);
  assertEquals(auth?.kind === "auth" && auth.cid, 0);
  assert(
    auth?.kind === "auth" && auth.lines.some((line) => line.includes("auth-token-user")),
    "OpenVPN was not told the token's user name",
  );

  await t.events.onDisconnect(0);
  const kept = await t.store.getSession(SESSION_ID);
  assert(kept !== undefined, "the session of a 2.6 certificate-only client ended at DISCONNECT");
  assertEquals([kept.cid, kept.resumable], [undefined, true]);
  assertEquals(t.revoked, []);

  const before = t.commander.commands.length;
  await t.events.onConnect(1, 1, clientEnv("AuthenticatedEmptyUser", "2.6.14"));
  assertEquals(t.commander.commands.slice(before).map(({ kind, cid }) => [kind, cid]), [
    ["auth", 1],
  ]);
  assertEquals((await t.store.getSession(SESSION_ID))?.cid, 1);
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("an OpenVPN 3 certificate-only client's session is kept past a DISCONNECT from sign-in on", async () => {
  const t = setup();
  await t.events.onConnect(0, 1, clientEnv("Initial", "3.git::d3f8b18b"));
  await signIn(t);
  await t.events.onDisconnect(0);
  assertEquals((await t.store.getSession(SESSION_ID))?.resumable, true);
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("a certificate-only 2.5 client (or one of unknown version) is not known to present the token: its session ends at DISCONNECT, and the reconnect goes to the browser", async () => {
  for (const ivVer of ["2.5.11", "2.4.12", "", "Verified_by_IT"]) {
    const t = setup();
    await t.events.onConnect(0, 1, clientEnv("Initial", ivVer));
    await signIn(t);
    assertEquals((await t.store.getSession(SESSION_ID))?.resumable, false, ivVer);

    await t.events.onDisconnect(0);
    assertEquals(await t.store.getSession(SESSION_ID), undefined, ivVer);
    assertEquals(t.revoked, ["rt-1"], ivVer);

    const before = t.commander.commands.length;
    await t.events.onConnect(1, 1, clientEnv("AuthenticatedEmptyUser", ivVer));
    assertEquals(
      t.commander.commands.slice(before).map(({ kind, cid }) => [kind, cid]),
      [["pending", 1]],
      ivVer,
    );
    t.events.close();
  }
});

Deno.test("a sign-in begun by a CONNECT that presented a token (its session had ended) makes a resumable session, whatever the client's version", async () => {
  const t = setup();
  // No session under that id (revoked, logged out): OpenVPN checked the token, the bridge has
  // nothing to resume, so the client signs in again.
  await t.events.onConnect(0, 1, clientEnv("AuthenticatedEmptyUser", "2.5.11"));
  assertEquals(t.commander.commands.map(({ kind }) => kind), ["pending"]);
  const pending = await t.store.getPending(
    (t.commander.commands[0] as { url: string }).url.split("/").pop()!,
  );
  assertEquals(pending?.presentedToken, true);

  await signIn(t);
  assertEquals((await t.store.getSession(SESSION_ID))?.resumable, true);
  await t.events.onDisconnect(0);
  assertEquals((await t.store.getSession(SESSION_ID))?.cid, undefined);
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("a sign-in begun by a CONNECT without a token records none", async () => {
  const t = setup();
  await t.events.onConnect(0, 1, clientEnv("Initial", "2.6.14"));
  const pending = await t.store.getPending(
    (t.commander.commands[0] as { url: string }).url.split("/").pop()!,
  );
  assert(pending !== undefined);
  assertEquals("presentedToken" in pending, false);
  t.events.close();
});
