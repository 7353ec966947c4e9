/**
 * One bridge, two real OpenVPN 2.6 servers (UDP 1194 and UDP 1195 in the same namespace) that
 * share an `auth-gen-token-secret`: alice signs in on server 1; server 1 stops and tells its
 * clients to move on (`explicit-exit-notify 2`); her client, which lists both servers, reconnects
 * to server 2 with the token server 1 gave it and is admitted there without a browser. Bob, whom
 * the top-level policy admits (he signs in on server 1), is denied on server 2 by its own policy.
 * Needs root, openvpn and chromium.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../support/assert.ts";
import type { Lab } from "./lib/lab.ts";
import type { OpenVpnServer } from "./lib/openvpn_server.ts";
import { pingThroughTunnel } from "./lib/ping.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";
import { pollUntil, withTimeout } from "./lib/wait.ts";

const skip = announceSkip("the e2e several-servers test", browserLabSkipReason());

/** The management commands an OpenVPN server received, as its log echoes them. */
async function commandsOf(server: OpenVpnServer): Promise<string[]> {
  const log = await server.diagnostics();
  // A halt's `client-kill` names the cid alone.
  return [...log.matchAll(/MANAGEMENT: CMD '(client-[a-z-]+ \d+[^']*)'/g)].map((m) => m[1]!);
}

async function assertPingsReach(lab: Lab, address: string): Promise<void> {
  await pollUntil(
    `3 of 3 pings to ${address} through the tunnel`,
    async () => (await pingThroughTunnel(lab.network.clientNs, address, 3)).allReplied || undefined,
    20_000,
    200,
  );
}

Deno.test({
  name: "one bridge, two OpenVPN servers sharing auth-gen-token-secret: alice moves to server 2 " +
    "without a browser; bob is denied on server 2 by its own policy",
  ignore: skip !== undefined,
  async fn() {
    // The one key of the lab (what an operator makes once and copies to every server).
    const shared = {
      authGenToken: { lifetimeSec: 0, renewalSec: 120, externalAuth: true, secret: true },
      // explicit-exit-notify 2: on stop, clients are told to advance to their next remote.
      extraConfig: ["explicit-exit-notify 2"],
    } as const;
    await withStack({
      lab: {
        server: { ...shared, label: "server-1", port: 1194 },
        extraServers: [{ ...shared, label: "server-2", port: 1195, tunnel: "spare" }],
      },
      bridge: {
        allowedGroups: ["/vpn-users", "/other"],
        serverToml: { "server-2": '[openvpn.authorization]\nallowed_groups = ["/vpn-users"]' },
        logLevel: "debug",
      },
    }, async (s) => {
      const [server1, server2] = s.lab.servers as [OpenVpnServer, OpenVpnServer];
      const server2TunnelIp = s.lab.network.spareNetwork.replace(/\.0$/, ".1");
      const readiness = await s.bridge.readiness();
      assertEquals(readiness.servers, { "server-1": true, "server-2": true });

      // A user name makes the client present OpenVPN's token when it reconnects.
      const alice = await s.lab.startClient({
        name: "alice-laptop",
        credentials: { username: "alice", password: "not-checked-by-the-bridge" },
        port: 1194,
        extraConfig: [`remote ${s.lab.network.serverVethIp} 1195`, "server-poll-timeout 5"],
      });
      await s.signIn(alice, "alice", "alice-password");
      await alice.waitForState("CONNECTED", 20_000);
      await assertPingsReach(s.lab, s.lab.network.serverTunnelIp);
      assertEquals(
        (await commandsOf(server1)).map((c) => c.split(" ")[0]),
        ["client-pending-auth", "client-auth"],
      );

      // Bob on server 1: the top-level policy admits /other.
      const bobOn1 = await s.lab.startClient({ name: "bob-laptop", port: 1194 });
      await s.signIn(bobOn1, "bob", "bob-password");
      await bobOn1.waitForState("CONNECTED", 20_000);
      await bobOn1.stop();

      // Server 1 goes away; alice's client moves to server 2 with its token.
      const lineMark = alice.lines.length;
      const bridgeMark = s.bridge.mark();
      await server1.stop();
      const state = await alice.waitForState("CONNECTED", 45_000, lineMark);
      assertEquals(state.remotePort, "1195");
      await assertPingsReach(s.lab, server2TunnelIp);
      const on2 = await commandsOf(server2);
      assertEquals(on2.map((c) => c.split(" ")[0]), ["client-auth"], on2.join("\n"));
      // No browser: a single login URL ever, and the bridge resumed server 1's session.
      assertEquals(alice.lines.filter((l) => l.startsWith(">INFOMSG:WEB_AUTH::")).length, 1);
      await s.bridge.waitForLog(
        /Token reconnect of "?alice"? \(cid \d+\) accepted from the session of server "?server-1/,
        5_000,
        bridgeMark,
      );
      assertNotMatch(await server2.diagnostics(), /HMAC on token from client failed/);
      const readyAfter = await s.bridge.readiness();
      assertEquals(
        [readyAfter.ready, readyAfter.servers],
        [false, { "server-1": false, "server-2": true }],
      );

      // Bob on server 2: its own policy admits only /vpn-users.
      const bob = await s.lab.startClient({ name: "bob-laptop", port: 1195 });
      const { page } = await s.signIn(bob, "bob", "bob-password");
      assertMatch(page.text, /Access denied/);
      const reason = await bob.waitForHalt(15_000);
      assertMatch(reason, /not in a group allowed/);
      await withTimeout("the refused client to exit", bob.exited, 15_000);
      assert(
        (await commandsOf(server2)).some((c) =>
          /^client-kill \d+ "HALT,You are not in a group/.test(c)
        ),
        "server 2 did not receive the halt",
      );
    });
  },
});
