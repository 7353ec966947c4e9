/**
 * Sessions across renegotiation, reconnect and bridge restarts, with the real bridge, the
 * Keycloak-like IdP and a scripted management server.
 */
import { sessionTimeoutShown } from "../../support/session_timeout.ts";
import { assert, assertEquals, assertNotEquals } from "../../support/assert.ts";
import { BridgeHarness, clientEnv, parseHarnessToml } from "../../support/bridge_harness.ts";
import { captureLogs } from "../../support/log_capture.ts";

async function reauth(
  h: BridgeHarness,
  cid: number,
  kid: number,
  env: Record<string, string>,
): Promise<string> {
  const mark = h.openvpn.received.length;
  h.openvpn.sendClientBlock("REAUTH", cid, kid, clientEnv(env));
  return await h.waitForCommand(
    mark,
    (line) =>
      line.startsWith(`client-auth-nt ${cid} ${kid}`) ||
      line.startsWith(`client-deny ${cid} ${kid}`) || line.startsWith(`client-auth ${cid} ${kid}`),
  );
}

Deno.test("file store: a REAUTH after a bridge restart is accepted without a browser", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    await h.signIn(0, { session_id: "s-restart" });
    await h.stopBridge();
    await h.startBridge();
    assertEquals(await reauth(h, 0, 3, { session_id: "s-restart" }), "client-auth-nt 0 3");
    assertEquals(
      await reauth(h, 0, 4, { session_id: "s-restart", session_state: "Authenticated" }),
      "client-auth-nt 0 4",
    );
  } finally {
    await h.stop();
  }
});

for (
  const [reauthCheck, answer] of [
    [
      "refresh",
      'client-deny 0 3 "invalid_grant" "Identity provider session ended; please log in again"',
    ],
    ["none", "client-auth-nt 0 3"],
  ] as const
) {
  Deno.test(`file store, reauth_check = "${reauthCheck}": after a restart with a new oidc.client_id, a session's REAUTH gets ${answer.split(" ")[0]}`, async () => {
    const h = await BridgeHarness.start({ sessions: "file", reauthCheck });
    try {
      await h.signIn(0, { session_id: "s-0" });
      await h.stopBridge();
      // README (Reload): the refresh token was issued to the old client; the IdP refuses it.
      h.idp.addClient({
        clientId: "openvpn-2",
        clientSecret: "second-client-secret",
        redirectUris: [`${h.baseUrl}/oauth2/callback`],
      });
      await h.startBridge(parseHarnessToml(
        h.toml.replace('client_id = "openvpn"', 'client_id = "openvpn-2"')
          .replace(/client_secret = "[^"]+"/, 'client_secret = "second-client-secret"'),
      ));
      assertEquals(await reauth(h, 0, 3, { session_id: "s-0" }), answer);
    } finally {
      await h.stop();
    }
  });
}

Deno.test("a reconnect presenting a valid auth token resumes the session on the new cid", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    // A username/password client: it will present OpenVPN's token when it comes back.
    await h.signIn(0, { session_id: "s-reconnect", username: "alice" });
    // The old connection goes away (sleep, network change), the client comes back with its token.
    h.openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv({ session_id: "s-reconnect" }));
    const mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock(
      "CONNECT",
      7,
      1,
      clientEnv({ session_id: "s-reconnect", session_state: "Authenticated", username: "alice" }),
    );
    await h.waitForCommand(mark, (line) => line === "END");
    assertEquals(sessionTimeoutShown(h.commandsSince(mark), 43_200), [
      "client-auth 7 1",
      'push "route 10.10.0.0 255.255.0.0"',
      "session-timeout <s>",
      "END",
    ]);
    assertEquals((await h.readSession("s-reconnect"))?.cid, 7);
    assertEquals(await reauth(h, 7, 2, { session_id: "s-reconnect" }), "client-auth-nt 7 2");
  } finally {
    await h.stop();
  }
});

Deno.test("expired or invalid tokens and unknown sessions are denied at REAUTH, naming the token's state", async () => {
  const h = await BridgeHarness.start();
  try {
    await h.signIn(0, { session_id: "s-deny" });
    for (
      const [kid, state, said] of [
        [3, "Expired", "expired"],
        [4, "Invalid", "invalid"],
        [5, "ExpiredEmptyUser", "expired"],
      ] as const
    ) {
      const answer = await reauth(h, 0, kid, { session_id: "s-deny", session_state: state });
      const reason = `session token ${said} (session_state ${state})`;
      assert(answer.startsWith(`client-deny 0 ${kid} "${reason}"`), answer);
      // The first refusal ended the session: nobody can resume it.
      assertEquals(await h.readSession("s-deny"), undefined);
    }
    const unknown = await reauth(h, 0, 6, { session_id: "s-other" });
    assert(unknown.startsWith('client-deny 0 6 "no session for this client"'), unknown);
  } finally {
    await h.stop();
  }
});

Deno.test("a session of a certificate-only client before 2.5.3 ends at DISCONNECT; a token client's and a certificate-only 2.6 client's survive", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    await h.signIn(0, { session_id: "s-cert", IV_VER: "2.5.2" });
    await h.signIn(1, { session_id: "s-token", common_name: "alice" });
    // 2.6 presents the token it is issued (auth-token-user), from the first reconnect on.
    await h.signIn(2, { session_id: "s-cert26", common_name: "bob", IV_VER: "2.6.14" });
    // The token client presented its token at a renegotiation, so it can come back later.
    assertEquals(
      await reauth(h, 1, 3, { session_id: "s-token", session_state: "Authenticated" }),
      "client-auth-nt 1 3",
    );
    h.openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv({ session_id: "s-cert" }));
    h.openvpn.sendClientBlock("DISCONNECT", 1, undefined, clientEnv({ session_id: "s-token" }));
    h.openvpn.sendClientBlock("DISCONNECT", 2, undefined, clientEnv({ session_id: "s-cert26" }));
    const deadline = Date.now() + 5000;
    while (
      Date.now() < deadline &&
      ((await h.readSession("s-cert")) !== undefined ||
        (await h.readSession("s-cert26"))?.cid !== undefined)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals(await h.readSession("s-cert"), undefined);
    for (const id of ["s-token", "s-cert26"]) {
      const kept = await h.readSession(id);
      assertEquals(kept?.cid, undefined, id);
      assertEquals(kept?.resumable, true, id);
    }
  } finally {
    await h.stop();
  }
});

Deno.test("refresh check: the rotated refresh token is stored and reused; a disabled user is denied", async () => {
  const h = await BridgeHarness.start({ sessions: "file", reauthCheck: "refresh" });
  try {
    await h.signIn(0, { session_id: "s-refresh" });
    const first = (await h.readSession("s-refresh"))?.refreshToken;
    assert(first);
    assertEquals(await reauth(h, 0, 3, { session_id: "s-refresh" }), "client-auth-nt 0 3");
    const second = (await h.readSession("s-refresh"))?.refreshToken;
    assert(second);
    assertNotEquals(second, first);
    // The IdP rotates refresh tokens: only the stored (newest) one works, so this shows reuse.
    assertEquals(await reauth(h, 0, 4, { session_id: "s-refresh" }), "client-auth-nt 0 4");
    assertNotEquals((await h.readSession("s-refresh"))?.refreshToken, second);

    h.idp.setDisabled("alice", true);
    const denied = await reauth(h, 0, 5, { session_id: "s-refresh" });
    assertEquals(
      denied,
      'client-deny 0 5 "invalid_grant" "Identity provider session ended; please log in again"',
    );
    assertEquals(await h.readSession("s-refresh"), undefined);
  } finally {
    await h.stop();
  }
});

Deno.test("after OpenVPN restarts, sessions of clients it no longer lists are unbound", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    await h.signIn(0, { session_id: "s-gone", IV_VER: "2.5.2" });
    // OpenVPN restarts: its clients are gone and cids start again from 0.
    h.openvpn.clients.clear();
    const mark = h.openvpn.received.length;
    await h.openvpn.restart();
    await h.waitForCommand(mark, (line) => line === "status 3", 10_000);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await h.readSession("s-gone")) !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // A certificate-only 2.5.2 client cannot resume, so its session ended with the old cid.
    assertEquals(await h.readSession("s-gone"), undefined);
    const answer = await reauth(h, 0, 3, { session_id: "s-gone" });
    assert(answer.startsWith('client-deny 0 3 "no session for this client"'), answer);
  } finally {
    await h.stop();
  }
});

/**
 * Alice's client (cid 0, key id 1) is signing in, and her browser is at the IdP when `restart`
 * runs; then the first client after it, Bob's, connects as cid 0 with key id 1 too (`bobHeard`:
 * its CONNECT reaches the bridge; otherwise it came while no bridge listened, and OpenVPN
 * tells nobody), and Alice finishes. Returns her last page, Bob's login link, and where
 * OpenVPN's transcript stood before she finished.
 */
async function aliceFinishesAfterRestart(
  h: BridgeHarness,
  restart: () => Promise<void>,
  { bobHeard = true } = {},
) {
  const aliceUrl = await h.connect(0, { common_name: "alice-laptop", session_id: "s-alice" });
  let bobUrl = "";
  let mark = 0;
  const alicePage = await h.browserLogin(aliceUrl, "alice", "alice-password", {
    beforeCallback: async () => {
      h.openvpn.clients.clear();
      await restart();
      if (bobHeard) {
        bobUrl = await h.connect(0, { common_name: "bob-laptop", session_id: "s-bob" });
        assertNotEquals(bobUrl, aliceUrl);
      }
      mark = h.openvpn.received.length;
    },
  });
  return { alicePage, bobUrl, mark };
}

/** A restart of the fake OpenVPN as a new process (new pid); resolves once the bridge is back. */
async function restartAsNewProcess(h: BridgeHarness) {
  const restarted = h.openvpn.received.length;
  h.openvpn.pid += 1000;
  await h.openvpn.restart();
  await h.waitForCommand(restarted, (line) => line === "status 3", 10_000);
}

Deno.test("a sign-in begun before OpenVPN restarted ends at the bridge's reconnect, though nobody heard the new client on its cid", async () => {
  const h = await BridgeHarness.start();
  try {
    // Bob's client connected to the new OpenVPN before the bridge was back: its CONNECT went
    // unheard, and OpenVPN waits for an answer for cid 0 key id 1 until its hand-window ends.
    const { alicePage, mark } = await aliceFinishesAfterRestart(h, () => restartAsNewProcess(h), {
      bobHeard: false,
    });
    assertEquals(alicePage.status, 404);
    assertEquals(h.openvpn.received.slice(mark).filter((l) => l.startsWith("client-")), []);
  } finally {
    await h.stop();
  }
});

Deno.test("a sign-in whose code is being exchanged when OpenVPN restarts sends nothing for the new client on its cid", async () => {
  const h = await BridgeHarness.start();
  try {
    const aliceUrl = await h.connect(0, { common_name: "alice-laptop", session_id: "s-alice" });
    let mark = 0;
    // Alice's callback has taken her sign-in and waits for the IdP's tokens when OpenVPN
    // restarts and Bob's client becomes cid 0 key id 1.
    h.idp.beforeToken = async () => {
      h.idp.beforeToken = undefined;
      h.openvpn.clients.clear();
      await restartAsNewProcess(h);
      await h.connect(0, { common_name: "bob-laptop", session_id: "s-bob" });
      mark = h.openvpn.received.length;
    };
    const alicePage = await h.browserLogin(aliceUrl, "alice", "alice-password");
    assert(mark > 0, "the restart ran during the code exchange");
    // The link's holder refused her client-auth: the page says her client is gone.
    assertEquals(alicePage.status, 410);
    assertEquals(h.openvpn.received.slice(mark).filter((l) => l.startsWith("client-")), []);
  } finally {
    await h.stop();
  }
});

Deno.test("OpenVPN restarting inside its process (SIGHUP, the link stays up) ends the sign-ins begun before", async () => {
  const h = await BridgeHarness.start();
  try {
    const { alicePage, mark } = await aliceFinishesAfterRestart(h, async () => {
      // As OpenVPN 2.6.14 tells it with `state on` (measured); then its clients start at 0.
      h.openvpn.startedAt += 60;
      h.openvpn.send(`>STATE:${h.openvpn.startedAt},RECONNECTING,SIGHUP,,,,,\r\n`);
      // Events are handled in order: once a later CONNECT is answered, the state was seen.
      await h.connect(9, { common_name: "carol-laptop", session_id: "s-carol" });
    }, { bobHeard: false });
    assertEquals(alicePage.status, 404);
    assertEquals(h.openvpn.received.slice(mark).filter((l) => l.startsWith("client-")), []);
  } finally {
    await h.stop();
  }
});

Deno.test("a sign-in finished after OpenVPN restarted cannot let in the new client that has its cid", async () => {
  const h = await BridgeHarness.start();
  try {
    const { alicePage, bobUrl, mark } = await aliceFinishesAfterRestart(h, async () => {
      const restarted = h.openvpn.received.length;
      await h.openvpn.restart();
      await h.waitForCommand(restarted, (line) => line === "status 3", 10_000);
    });
    // Her sign-in ended with Bob's CONNECT: no client-auth for cid 0 on her login.
    assertEquals(alicePage.status, 404);
    assertEquals(h.openvpn.received.slice(mark).filter((l) => l.startsWith("client-")), []);
    // Bob's own sign-in is untouched.
    const bobPage = await h.browserLogin(bobUrl, "bob", "bob-password");
    assertEquals(bobPage.status, 403, "bob is not in /vpn-users: his own decision, not alice's");
    // Halted: bob's own refusal (refusal.ts).
    await h.waitForCommand(mark, (line) => line.startsWith("client-kill 0 "));
    assertEquals(
      h.openvpn.received.slice(mark).filter((l) => l.startsWith("client-auth")),
      [],
    );
  } finally {
    await h.stop();
  }
});

Deno.test("file store: a sign-in left by a stopped bridge is ended too when OpenVPN restarted meanwhile", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    const { alicePage, mark } = await aliceFinishesAfterRestart(h, async () => {
      await h.stopBridge();
      await h.openvpn.restart();
      await h.startBridge();
    });
    assertEquals(alicePage.status, 404);
    assertEquals(h.openvpn.received.slice(mark).filter((l) => l.startsWith("client-")), []);
  } finally {
    await h.stop();
  }
});

Deno.test("the old cid's DISCONNECT arriving after the reconnect leaves the session on the new cid", async () => {
  const h = await BridgeHarness.start({ sessions: "file" });
  try {
    await h.signIn(0, { session_id: "s-late", username: "alice" });
    const mark = h.openvpn.received.length;
    h.openvpn.sendClientBlock(
      "CONNECT",
      8,
      1,
      clientEnv({ session_id: "s-late", session_state: "Authenticated", username: "alice" }),
    );
    await h.waitForCommand(mark, (line) => line === "client-auth 8 1");
    // As measured with OpenVPN 2.6: the old cid's DISCONNECT comes ~2 s after the new CONNECT.
    h.openvpn.sendClientBlock("DISCONNECT", 0, undefined, clientEnv({ session_id: "s-late" }));
    assertEquals(
      await reauth(h, 8, 2, { session_id: "s-late", session_state: "Authenticated" }),
      "client-auth-nt 8 2",
    );
    assertEquals((await h.readSession("s-late"))?.cid, 8);
  } finally {
    await h.stop();
  }
});

Deno.test("revocations still waiting for a slot at the IdP when the bridge stops are never sent", async () => {
  // The bridge takes the global fetch as it starts: this one holds every revocation until the
  // test lets it go, so that four are open at the IdP and the rest wait for a slot.
  const realFetch = globalThis.fetch;
  let revocationEndpoint = "";
  const sent: string[] = [];
  const held: Array<() => void> = [];
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (revocationEndpoint === "" || url !== revocationEndpoint) return realFetch(input, init);
    sent.push(String(init?.body));
    return new Promise((resolve, reject) =>
      held.push(() => realFetch(input, init).then(resolve, reject))
    );
  };
  const h = await BridgeHarness.start({ sessions: "memory" });
  // After the start, which sets up the bridge's own logging.
  const logs = captureLogs();
  try {
    const discovery = await realFetch(`${h.idp.issuer}/.well-known/openid-configuration`);
    revocationEndpoint = (await discovery.json()).revocation_endpoint;
    assert(revocationEndpoint);
    // Certificate-only 2.5.2 clients: each DISCONNECT ends the session and revokes its token.
    for (let cid = 0; cid < 6; cid++) {
      await h.signIn(cid, { session_id: `s-${cid}`, IV_VER: "2.5.2" });
    }
    for (let cid = 0; cid < 6; cid++) {
      h.openvpn.sendClientBlock(
        "DISCONNECT",
        cid,
        undefined,
        clientEnv({ session_id: `s-${cid}` }),
      );
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && sent.length < 4) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(sent.length, 4, "four revocations open at the IdP (oidc.max_open_requests 32)");
    await h.stopBridge();
    for (const release of held) release();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(sent.length, 4, "the two waiting were dropped by the stop");
    const refused = logs.lines.filter((line) =>
      line.text.startsWith("Could not revoke the refresh token of alice: ") &&
      line.text.includes("IdP request not sent: the bridge is stopping")
    );
    assertEquals(refused.length, 2, "the two waiting were refused, not lost");
  } finally {
    logs.stop();
    globalThis.fetch = realFetch;
    await h.stop();
  }
});
