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

    await t.step("bob, not in an allowed group, is halted with the reason", async () => {
      const url = await h.connect(1, { common_name: "bob", session_id: "s-bob" });
      const mark = h.openvpn.received.length;
      const page = await h.browserLogin(url, "bob", "bob-password");
      assertEquals(page.status, 403);
      assertStringIncludes(page.text, "You are not in a group allowed to use this VPN");
      const halt = await h.waitForCommand(mark, (line) => line.startsWith("client-kill 1 "));
      assertEquals(halt, 'client-kill 1 "HALT,You are not in a group allowed to use this VPN"');
    });

    await t.step("a wrong password at the IdP grants nothing", async () => {
      const url = await h.connect(2, { common_name: "alice", session_id: "s-wrong" });
      const mark = h.openvpn.received.length;
      await assertRejects(() => h.browserLogin(url, "alice", "not-her-password"), LoginFormError);
      assert(!h.commandsSince(mark).some((line) => line.startsWith("client-auth")));
    });

    await t.step("an IdP access_denied halts the client at once", async () => {
      const url = await h.connect(3, { common_name: "erin", session_id: "s-erin" });
      const mark = h.openvpn.received.length;
      const page = await h.browserLogin(url, "erin", "erin-password");
      assertEquals(page.status, 403);
      const halt = await h.waitForCommand(mark, (line) => line.startsWith("client-kill 3 "));
      assertEquals(
        halt,
        'client-kill 3 "HALT,Login was denied or cancelled at the identity provider"',
      );
    });

    await t.step(
      "a client without IV_SSO webauth is halted with a reason it can act on",
      async () => {
        const mark = h.openvpn.received.length;
        h.openvpn.sendClientBlock(
          "CONNECT",
          4,
          1,
          clientEnv({ IV_SSO: "openurl", session_id: "s-old" }),
        );
        const halt = await h.waitForCommand(mark, (line) => line.startsWith("client-kill 4 "));
        assertStringIncludes(halt, '"HALT,Your VPN client cannot do browser sign-in');
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
        (line) => line.startsWith(`client-auth ${cid} 1`) || line.startsWith(`client-kill ${cid} `),
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
    // A name no retry changes: halted (refusal.ts).
    assertEquals(
      huge.answer,
      'client-kill 1 "HALT,Your user name cannot be used with this VPN; contact your administrator"',
    );
    assertEquals(huge.page.status, 403);
    const crlf = await check(2, "line\r\nclient-kill 0", "pw-3");
    assert(crlf.answer.startsWith("client-kill 2 "), crlf.answer);
    // Only the halts, of clients 1 and 2: the name's own line never reached the socket.
    assertEquals(
      h.openvpn.received.filter((line) => line.startsWith("client-kill")).map((line) =>
        line.slice(0, "client-kill 1".length)
      ),
      ["client-kill 1", "client-kill 2"],
    );
    assert(h.openvpn.received.every((line) => line.length < 1024));
  } finally {
    await h.stop();
  }
});

Deno.test("a sign-in not completed in time is halted with a reason, and its link is dead", async () => {
  const h = await BridgeHarness.start({ authPendingTimeout: "10s" });
  try {
    const mark = h.openvpn.received.length;
    const url = await h.connect(0, { common_name: "alice", session_id: "s-slow" });
    const halt = await h.waitForCommand(mark, (line) => line.startsWith("client-kill 0 "), 15_000);
    assertEquals(
      halt,
      'client-kill 0 "HALT,Sign-in was not completed in time. Reconnect to try again."',
    );
    const page = await fetch(url);
    assertEquals(page.status, 404);
    assertStringIncludes(await page.text(), "This sign-in link has expired");
  } finally {
    await h.stop();
  }
});
