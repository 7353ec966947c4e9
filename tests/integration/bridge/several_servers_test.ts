/**
 * One bridge answering two OpenVPN servers (scripted management sides): each login is answered
 * on the server its client came through, under that server's policy, and a token reconnect
 * through the other server resumes the session there without a browser.
 */
import { sessionTimeoutShown } from "../../support/session_timeout.ts";
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { BridgeHarness, clientEnv } from "../../support/bridge_harness.ts";

Deno.test("one bridge, two OpenVPN servers with their own policies", async (t) => {
  const h = await BridgeHarness.start({
    servers: [
      {
        name: "udp",
        toml: '[openvpn.authorization]\nallowed_groups = ["/vpn-users", "/other"]',
      },
      {
        name: "tcp",
        toml: '[[openvpn.client_config]]\ngroups = ["/staff/vpn-admins"]\n' +
          `lines = ['push "route 10.20.0.0 255.255.0.0"']`,
      },
    ],
  });
  const udp = h.server("udp");
  const tcp = h.server("tcp");
  try {
    await t.step("/readyz lists each server's management link", async () => {
      const response = await fetch(`${h.baseUrl}/readyz`);
      const body = await response.json();
      assertEquals(body.servers, { udp: true, tcp: true });
      assertEquals(body.management, true);
    });

    await t.step("bob is admitted on udp (its own policy admits /other)", async () => {
      const url = await h.connect(0, { common_name: "bob", session_id: "s-bob-udp" }, "udp");
      const marks = [udp.received.length, tcp.received.length];
      const page = await h.browserLogin(url, "bob", "bob-password");
      assertEquals(page.status, 200);
      await h.waitForCommand(marks[0]!, (line) => line === "END", 5000, "udp");
      assertEquals(h.commandsSince(marks[0]!, "udp")[0], "client-auth 0 1");
      assertEquals(h.commandsSince(marks[1]!, "tcp"), []);
    });

    await t.step("bob is refused on tcp (the top-level policy), answered on tcp only", async () => {
      // Same cid as bob's client on udp: cids are numbered per server.
      const url = await h.connect(0, { common_name: "bob", session_id: "s-bob-tcp" }, "tcp");
      const marks = [udp.received.length, tcp.received.length];
      const page = await h.browserLogin(url, "bob", "bob-password");
      assertEquals(page.status, 403);
      const halt = await h.waitForCommand(
        marks[1]!,
        (line) => line.startsWith("client-kill 0 "),
        5000,
        "tcp",
      );
      assertStringIncludes(halt, '"HALT,You are not in a group allowed to use this VPN"');
      assertEquals(h.commandsSince(marks[0]!, "udp"), []);
    });

    await t.step("alice on tcp gets tcp's own client config lines", async () => {
      const url = await h.connect(
        1,
        { common_name: "alice", username: "alice", session_id: "s-alice" },
        "tcp",
      );
      const mark = tcp.received.length;
      await h.browserLogin(url, "alice", "alice-password");
      await h.waitForCommand(mark, (line) => line === "END", 5000, "tcp");
      assertEquals(sessionTimeoutShown(h.commandsSince(mark, "tcp"), 43_200), [
        "client-auth 1 1",
        'push "route 10.20.0.0 255.255.0.0"',
        "session-timeout <s>",
        "END",
      ]);
    });

    await t.step(
      "alice's token reconnect through udp resumes there without a browser",
      async () => {
        const mark = udp.received.length;
        udp.sendClientBlock(
          "CONNECT",
          5,
          0,
          clientEnv({
            common_name: "alice",
            username: "alice",
            session_id: "s-alice",
            session_state: "Authenticated",
          }),
        );
        await h.waitForCommand(mark, (line) => line === "END", 5000, "udp");
        // udp has no client config of its own: the top-level lines apply.
        assertEquals(sessionTimeoutShown(h.commandsSince(mark, "udp"), 43_200), [
          "client-auth 5 0",
          'push "route 10.10.0.0 255.255.0.0"',
          "session-timeout <s>",
          "END",
        ]);
        // Renegotiations now belong to udp's cid 5; tcp's old cid 1 no longer holds the session.
        const reauthMark = tcp.received.length;
        tcp.sendClientBlock(
          "REAUTH",
          1,
          2,
          clientEnv({ common_name: "alice", username: "alice", session_id: "s-alice" }),
        );
        await h.waitForCommand(
          reauthMark,
          (line) => line.startsWith("client-deny 1 2"),
          5000,
          "tcp",
        );
      },
    );

    await t.step("/readyz is not ready while one server's link is down", async () => {
      await tcp.stop();
      let body: { ready: boolean; servers: Record<string, boolean> } | undefined;
      let status = 0;
      for (let attempt = 0; attempt < 100 && body?.servers["tcp"] !== false; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        const response = await fetch(`${h.baseUrl}/readyz`);
        status = response.status;
        body = await response.json();
      }
      assertEquals([status, body?.ready, body?.servers], [503, false, { udp: true, tcp: false }]);
    });
  } finally {
    await h.stop();
  }
});
