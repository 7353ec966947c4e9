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

/**
 * Mallory's CONNECT, with her own certificate and a forged token naming alice's session_id:
 * OpenVPN before 2.6.21 and 2.7.5 (CVE-2026-13122) passes the id on with state Invalid.
 */
function malloryForgedEnv(sessionState = "Invalid"): Map<string, string> {
  return testEnv({
    session_id: SESSION_ID,
    session_state: sessionState,
    username: "",
    password: "",
    common_name: "mallory-laptop",
    IV_VER: "2.6.14",
    IV_PLAT: "linux",
    untrusted_ip: "203.0.113.9",
  });
}

/** The browser sign-in of the login the CONNECT began, finished at the IdP as alice. */
async function signIn(t: ReturnType<typeof setup>): Promise<void> {
  const pending = t.commander.commands.findLast((command) => command.kind === "pending");
  assert(pending !== undefined, "the CONNECT was not sent to the browser");
  const login = await t.store.takePending(pending.url.split("/").pop()!);
  assert(login !== undefined, "no pending login for the CONNECT");
  const outcome = await t.admission.admitLogin(testFinishedLogin(login), t.commander);
  assertEquals(outcome.kind, "admitted");
}

Deno.test("a certificate-only 2.6 or 2.5.3+ client whose DISCONNECT comes before its first REAUTH reconnects with its token without a browser, nothing revoked", async () => {
  // 2.5.3 added auth-token-user; 2.5.11 was seen to reconnect so after 30 s asleep.
  for (const ivVer of ["2.6.14", "2.5.11", "2.5.3"]) {
    const t = setup();
    await t.events.onConnect(0, 1, clientEnv("Initial", ivVer));
    await signIn(t);
    const auth = t.commander.commands.at(-1);
    assertEquals(auth?.kind === "auth" && auth.cid, 0, ivVer);
    assert(
      auth?.kind === "auth" && auth.lines.some((line) => line.includes("auth-token-user")),
      `${ivVer}: OpenVPN was not told the token's user name`,
    );

    await t.events.onDisconnect(0);
    const kept = await t.store.getSession(SESSION_ID);
    assert(
      kept !== undefined,
      `${ivVer}: the certificate-only client's session ended at DISCONNECT`,
    );
    assertEquals([kept.cid, kept.resumable], [undefined, true], ivVer);
    assertEquals(t.revoked, [], ivVer);

    const before = t.commander.commands.length;
    await t.events.onConnect(1, 1, clientEnv("AuthenticatedEmptyUser", ivVer));
    assertEquals(t.commander.commands.slice(before).map(({ kind, cid }) => [kind, cid]), [
      ["auth", 1],
    ], ivVer);
    assertEquals((await t.store.getSession(SESSION_ID))?.cid, 1, ivVer);
    assertEquals(t.revoked, [], ivVer);
    t.events.close();
  }
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

Deno.test("certificate-only clients whose IV_VER the confirm page does not show (OpenVPN for Android, openvpn3-linux, openvpn3 from git) keep their session past a DISCONNECT and reconnect with the token", async () => {
  // As each sends it: OpenVPN for Android's OpenVPN 2 (PACKAGE_VERSION), openvpn3-linux v23,
  // the openvpn3 core's default, and its version script's form for a git build.
  for (const ivVer of ["2.7_master", "v3.10.1", "3.12_git:master", "3.git:HEAD:f3d0b1d6"]) {
    const t = setup();
    await t.events.onConnect(0, 1, clientEnv("Initial", ivVer));
    const pending = await t.store.getPending(
      (t.commander.commands[0] as { url: string }).url.split("/").pop()!,
    );
    assertEquals([pending?.clientVersion, pending?.presentsIssuedToken], ["", true], ivVer);
    await signIn(t);
    assertEquals((await t.store.getSession(SESSION_ID))?.resumable, true, ivVer);

    await t.events.onDisconnect(0);
    assertEquals((await t.store.getSession(SESSION_ID))?.cid, undefined, ivVer);
    assertEquals(t.revoked, [], ivVer);
    const before = t.commander.commands.length;
    await t.events.onConnect(1, 1, clientEnv("AuthenticatedEmptyUser", ivVer));
    assertEquals(
      t.commander.commands.slice(before).map(({ kind, cid }) => [kind, cid]),
      [["auth", 1]],
      ivVer,
    );
    t.events.close();
  }
});

Deno.test("a certificate-only client before 2.5.3 (or one of unknown version) is not known to present the token: its session ends at DISCONNECT, and the reconnect goes to the browser", async () => {
  for (const ivVer of ["2.5.2", "2.5_rc1", "2.4.12", "", "Verified_by_IT", "v2.5.2", "version_3"]) {
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
  await t.events.onConnect(0, 1, clientEnv("AuthenticatedEmptyUser", "2.4.12"));
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

Deno.test("a sign-in of a client that sent a user name makes a resumable session, whatever the client's version: kept past DISCONNECT, nothing revoked", async () => {
  const t = setup();
  // auth-user-pass: OpenVPN issues its token in place of the password, and the client presents
  // it at its next reconnect, 2.5 and 2.4 too.
  const env = clientEnv("Initial", "2.4.12");
  env.set("username", "alice");
  await t.events.onConnect(0, 1, env);
  await signIn(t);
  assertEquals((await t.store.getSession(SESSION_ID))?.resumable, true);
  await t.events.onDisconnect(0);
  const kept = await t.store.getSession(SESSION_ID);
  assertEquals([kept?.cid, kept?.resumable], [undefined, true]);
  assertEquals(t.revoked, []);
  t.events.close();
});

Deno.test("a 2.6 client with no session_id (no auth-gen-token) cannot resume: its session, under an id of the bridge's own, ends at DISCONNECT and its refresh token is revoked", async () => {
  const t = setup();
  const env = clientEnv("Initial", "2.6.14");
  env.delete("session_id");
  env.set("username", "alice");
  await t.events.onConnect(0, 1, env);
  await signIn(t);
  const id = await t.store.findSessionIdByCid("default", 0);
  assert(id !== undefined && id !== SESSION_ID, `not a session id of the bridge's own: ${id}`);
  assertEquals((await t.store.getSession(id))?.resumable, false);
  await t.events.onDisconnect(0);
  assertEquals(await t.store.getSession(id), undefined);
  assertEquals(t.revoked, ["rt-1"]);
  t.events.close();
});

// A state OpenVPN 2.6 does not send says nothing of who chose the id: taken as the client's.
for (const sessionState of ["Invalid", "SomeLaterState"]) {
  Deno.test(`a sign-in whose client may have chosen its session_id (session_state=${sessionState}: a token OpenVPN refused, or a state it does not send) never replaces another user's session, which stays bound and answered`, async () => {
    const t = setup();
    // Alice signs in on cid 0; her session is kept under OpenVPN's session_id.
    await t.events.onConnect(0, 1, clientEnv("Initial", "2.6.14"));
    await signIn(t);
    // Mallory, on cid 1, names Alice's session_id with a forged token (malloryForgedEnv).
    await t.events.onConnect(
      1,
      1,
      malloryForgedEnv(sessionState),
    );
    const pending = t.commander.commands.findLast((command) => command.kind === "pending");
    assertEquals(pending?.cid, 1);
    const login = await t.store.takePending(pending!.url.split("/").pop()!);
    assert(login !== undefined);
    const mallory = await t.admission.admitLogin(
      testFinishedLogin(login, {
        claims: { sub: "u-2", preferred_username: "mallory", groups: ["/vpn-users"] },
        subject: "u-2",
        refreshToken: "rt-mallory",
      }),
      t.commander,
    );
    assertEquals(
      mallory.kind === "denied" && mallory.denial.logReason,
      "session_id of another user's session, from a token OpenVPN refused",
    );
    assertEquals(
      t.commander.commands.at(-1)?.kind === "deny" && t.commander.commands.at(-1)?.cid,
      1,
    );
    // Alice's session is untouched: hers, on cid 0, and her renegotiation is admitted.
    const kept = await t.store.getSession(SESSION_ID);
    assertEquals([kept?.username, kept?.cid, kept?.commonName], ["alice", 0, "alice"]);
    const before = t.commander.commands.length;
    await t.events.onReauth(0, 2, clientEnv("AuthenticatedEmptyUser", "2.6.14"));
    assertEquals(t.commander.commands.slice(before).map(({ kind, cid }) => [kind, cid]), [[
      "auth-nt",
      0,
    ]]);
    // Mallory's grant is given back; Alice's token is not touched.
    assertEquals(t.revoked, ["rt-mallory"]);
    t.events.close();
  });
}

Deno.test("a sign-in after a token OpenVPN refused replaces a session of the same user (its own stale id), as any new sign-in does", async () => {
  const t = setup();
  await t.events.onConnect(0, 1, clientEnv("Initial", "2.6.14"));
  await signIn(t);
  await t.events.onDisconnect(0);
  // OpenVPN restarted with a new token secret: the client's token is Invalid, its id its own.
  await t.events.onConnect(1, 1, clientEnv("Invalid", "2.6.14"));
  await signIn(t);
  const session = await t.store.getSession(SESSION_ID);
  assertEquals([session?.username, session?.cid], ["alice", 1]);
  assertEquals(t.commander.commands.at(-1)?.kind, "auth");
  t.events.close();
});

Deno.test("a refused-token sign-in racing the session_id's own user's sign-in does not replace it: the look and the write are one step", async () => {
  const t = setup();
  // Alice's client reconnects with its token after her session ended; Mallory names the same id
  // with a token OpenVPN refused. Both sign-ins finish at once.
  await t.events.onConnect(0, 1, clientEnv("Authenticated", "2.6.14"));
  const alicePending = t.commander.commands.findLast((command) => command.kind === "pending");
  await t.events.onConnect(
    1,
    1,
    malloryForgedEnv(),
  );
  const malloryPending = t.commander.commands.findLast((command) => command.kind === "pending");
  assertEquals([alicePending?.cid, malloryPending?.cid], [0, 1]);
  const take = async (url: string) => (await t.store.takePending(url.split("/").pop()!))!;
  const alice = testFinishedLogin(await take(alicePending!.url));
  const mallory = testFinishedLogin(await take(malloryPending!.url), {
    claims: { sub: "u-2", preferred_username: "mallory", groups: ["/vpn-users"] },
    subject: "u-2",
    refreshToken: "rt-mallory",
  });
  for (const first of ["mallory", "alice"]) {
    await t.store.deleteSession(SESSION_ID);
    const [a, m] = first === "alice"
      ? await Promise.all([
        t.admission.admitLogin(alice, t.commander),
        t.admission.admitLogin(mallory, t.commander),
      ])
      : (await Promise.all([
        t.admission.admitLogin(mallory, t.commander),
        t.admission.admitLogin(alice, t.commander),
      ])).reverse();
    const session = await t.store.getSession(SESSION_ID);
    // Alice's session is hers whichever came first; Mallory's is refused, or (stored first,
    // before Alice's) replaced by Alice's own.
    assertEquals([a?.kind, session?.username, session?.cid], ["admitted", "alice", 0], first);
    assert(m?.kind === "denied" || first === "mallory", `${first}: ${m?.kind}`);
  }
  t.events.close();
});
