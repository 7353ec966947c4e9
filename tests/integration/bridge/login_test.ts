/**
 * The interactive login end to end, in process: real bridge, real (Keycloak-like) OIDC
 * provider, scripted OpenVPN management server, browser played over HTTP.
 */
import { sessionTimeoutShown } from "../../support/session_timeout.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";
import { LoginFormError } from "../../support/idp/mod.ts";

Deno.test("bridge login against a real OIDC provider", async (t) => {
  const h = await BridgeHarness.start();
  try {
    await t.step(
      "alice signs in: client-auth for her cid/kid with her group's config lines",
      async () => {
        const url = await h.connect(0, { common_name: "alice", session_id: "s-alice" });
        assert(url.startsWith(`${h.baseUrl}/login/`));
        assert(`WEB_AUTH::${url}`.length <= 246);
        const mark = h.openvpn.received.length;
        const page = await h.browserLogin(url, "alice", "alice-password");
        assertEquals(page.status, 200);
        assertStringIncludes(page.text, "You are connected. You can close this window.");
        await h.waitForCommand(mark, (line) => line === "END");
        assertEquals(sessionTimeoutShown(h.commandsSince(mark), 43_200), [
          "client-auth 0 1",
          'push "route 10.10.0.0 255.255.0.0"',
          `push "auth-token-user ${btoa("alice")}"`,
          "session-timeout <s>",
          "END",
        ]);
      },
    );

    await t.step("REAUTH of alice's session is accepted at once with client-auth-nt", async () => {
      const mark = h.openvpn.received.length;
      h.openvpn.sendClientBlock(
        "REAUTH",
        0,
        3,
        clientEnv({ common_name: "alice", session_id: "s-alice" }),
      );
      await h.waitForCommand(mark, (line) => line === "client-auth-nt 0 3");
    });

    await t.step("bob, not in an allowed group, gets client-deny with the reason", async () => {
      const url = await h.connect(1, { common_name: "bob", session_id: "s-bob" });
      const mark = h.openvpn.received.length;
      const page = await h.browserLogin(url, "bob", "bob-password");
      assertEquals(page.status, 403);
      assertStringIncludes(page.text, "You are not in a group allowed to use this VPN");
      const deny = await h.waitForCommand(mark, (line) => line.startsWith("client-deny 1 1"));
      assertEquals(
        deny,
        'client-deny 1 1 "group" "You are not in a group allowed to use this VPN"',
      );
    });

    await t.step("a wrong password at the IdP grants nothing", async () => {
      const url = await h.connect(2, { common_name: "alice", session_id: "s-wrong" });
      const mark = h.openvpn.received.length;
      await assertRejects(() => h.browserLogin(url, "alice", "not-her-password"), LoginFormError);
      assert(!h.commandsSince(mark).some((line) => line.startsWith("client-auth")));
    });

    await t.step("an IdP access_denied denies the client at once", async () => {
      const url = await h.connect(3, { common_name: "erin", session_id: "s-erin" });
      const mark = h.openvpn.received.length;
      const page = await h.browserLogin(url, "erin", "erin-password");
      assertEquals(page.status, 403);
      const deny = await h.waitForCommand(mark, (line) => line.startsWith("client-deny 3 1"));
      assertEquals(
        deny,
        'client-deny 3 1 "access_denied" "Login was denied or cancelled at the identity provider"',
      );
    });

    await t.step(
      "a client without IV_SSO webauth is denied with a reason it can act on",
      async () => {
        const mark = h.openvpn.received.length;
        h.openvpn.sendClientBlock(
          "CONNECT",
          4,
          1,
          clientEnv({ IV_SSO: "openurl", session_id: "s-old" }),
        );
        const deny = await h.waitForCommand(mark, (line) => line.startsWith("client-deny 4 1"));
        assertStringIncludes(deny, "cannot do browser sign-in");
      },
    );

    await t.step("a hostile common name never reaches the socket unescaped", async () => {
      const mark = h.openvpn.received.length;
      // Under the protocol's 8 KB line limit: a longer ENV line drops its whole block.
      const hostile = 'x" "y\\' + "z".repeat(5_000);
      h.openvpn.sendClientBlock(
        "REAUTH",
        5,
        2,
        clientEnv({ common_name: hostile, session_id: "nope" }),
      );
      const deny = await h.waitForCommand(mark, (line) => line.startsWith("client-deny 5 2"));
      assertEquals(
        deny,
        'client-deny 5 2 "no session for this client" "Your VPN session has ended. Reconnect to sign in again."',
      );
    });
  } finally {
    await h.stop();
  }
});

Deno.test("hostile IdP data never reaches the management socket unescaped", async () => {
  const long = "x".repeat(10_000);
  const h = await BridgeHarness.start({
    users: [
      {
        username: 'quote"back\\slash',
        password: "pw-1",
        groups: ["/vpn-users", '/"; client-kill 0'],
      },
      { username: long, password: "pw-2", groups: ["/vpn-users"] },
      { username: "line\r\nclient-kill 0", password: "pw-3", groups: ["/vpn-users"] },
    ],
  });
  try {
    const check = async (cid: number, username: string, password: string) => {
      const url = await h.connect(cid, { common_name: `client-${cid}`, session_id: `s-${cid}` });
      assert(`WEB_AUTH::${url}`.length <= 246);
      const mark = h.openvpn.received.length;
      const page = await h.browserLogin(url, username, password);
      const answer = await h.waitForCommand(
        mark,
        (line) =>
          line.startsWith(`client-auth ${cid} 1`) || line.startsWith(`client-deny ${cid} 1`),
      );
      return { page, answer, commands: h.commandsSince(mark) };
    };
    const quoted = await check(0, 'quote"back\\slash', "pw-1");
    await h.waitForCommand(0, (line) => line === "END");
    // The user name only travels base64-encoded; nothing else from the IdP is sent.
    assertEquals(sessionTimeoutShown(quoted.commands.slice(0, 4), 43_200), [
      "client-auth 0 1",
      `push "auth-token-user ${btoa('quote"back\\slash')}"`,
      "session-timeout <s>",
      "END",
    ]);
    const huge = await check(1, long, "pw-2");
    assertEquals(
      huge.answer,
      'client-deny 1 1 "username unusable for auth-token-user" "Your user name cannot be used with this VPN; contact your administrator"',
    );
    assertEquals(huge.page.status, 403);
    const crlf = await check(2, "line\r\nclient-kill 0", "pw-3");
    assert(crlf.answer.startsWith("client-deny 2 1 "), crlf.answer);
    assert(!h.openvpn.received.some((line) => line.startsWith("client-kill")));
    assert(h.openvpn.received.every((line) => line.length < 1024));
  } finally {
    await h.stop();
  }
});

Deno.test("a sign-in not completed in time is denied with a reason, and its link is dead", async () => {
  const h = await BridgeHarness.start({ authPendingTimeout: "10s" });
  try {
    const mark = h.openvpn.received.length;
    const url = await h.connect(0, { common_name: "alice", session_id: "s-slow" });
    const deny = await h.waitForCommand(mark, (line) => line.startsWith("client-deny 0 1"), 15_000);
    assertEquals(
      deny,
      'client-deny 0 1 "sign-in timed out" "Sign-in was not completed in time. Reconnect to try again."',
    );
    const page = await fetch(url);
    assertEquals(page.status, 404);
    assertStringIncludes(await page.text(), "This sign-in link has expired");
  } finally {
    await h.stop();
  }
});
