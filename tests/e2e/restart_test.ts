/**
 * The OpenVPN server restarts under a running bridge: the bridge notices and reconnects to the
 * management socket by itself. A client without an OpenVPN token (told by the server's exit
 * notification) signs in again through it; one whose server has `auth-gen-token ...
 * external-auth` with an `auth-gen-token-secret`, as README recommends, comes back on its token
 * without a browser. Needs root, openvpn and chromium.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../support/assert.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { type Stack, withStack } from "./lib/stack.ts";
import { assertTunnelCarriesPings } from "./lib/tunnel_pings.ts";

const skip = announceSkip("the e2e OpenVPN restart test", browserLabSkipReason());

const CONNECTED_TO_MANAGEMENT = /Connected to OpenVPN management interface/g;

/**
 * Restarts the OpenVPN server (SIGTERM: it tells its clients, which reconnect at once) and
 * waits until the same bridge process is linked to the new one on the same socket.
 */
async function restartOpenVpn(s: Stack): Promise<void> {
  const bridgePid = s.bridge.pid;
  const bridgeMark = s.bridge.mark();
  await s.lab.server.restart();
  await s.bridge.waitForLog(CONNECTED_TO_MANAGEMENT, 20_000, bridgeMark);
  assertEquals(s.bridge.pid, bridgePid);
  assertEquals(s.bridge.running, true);
  const readiness = await s.bridge.waitReady(20_000);
  assertEquals(readiness.management, true);
}

Deno.test({
  name: "the OpenVPN server restarts: the bridge reconnects by itself, and a client without an " +
    "OpenVPN token signs in again",
  ignore: skip !== undefined,
  async fn() {
    // A client that reconnects before the bridge is back has its CONNECT go unheard: the bridge
    // restarts it once linked (unheard_clients.ts; hand-window, kept short here, is the
    // fallback), and it starts over.
    await withStack({ lab: { server: { handWindow: 20 } } }, async (s) => {
      const client = await s.lab.startClient({ name: "alice-laptop" });
      await s.signIn(client, "alice", "alice-password");
      await client.waitForState("CONNECTED", 20_000);
      assert((await s.lab.pingServer(2)).allReplied);

      const lineMark = client.lines.length;
      await restartOpenVpn(s);

      // The client reconnects as a new client and is asked to sign in again.
      await client.waitForState("RECONNECTING", 20_000, lineMark);
      const { url, page } = await s.signIn(client, "alice", "alice-password", {
        since: lineMark,
        timeoutMs: 60_000,
      });
      assert(url.startsWith(`${s.listenUrl}/login/`), url);
      assertMatch(page.text, /You are connected/);
      await client.waitForState("CONNECTED", 20_000, lineMark);
      const ping = await s.lab.pingServer(3);
      assert(ping.allReplied, ping.output);
    });
  },
});

/** A full restart (a new process), or one inside the process with the link kept (SIGHUP). */
const RESTARTS = {
  "restarts": restartOpenVpn,
  "restarts on SIGHUP": (s: Stack) => Promise.resolve(s.lab.server.hangUp()),
} as const;

for (const [restarts, restart] of Object.entries(RESTARTS)) {
  Deno.test({
    name: `the OpenVPN server ${restarts} with auth-gen-token-secret: a connected client comes ` +
      "back on its token, without a browser",
    ignore: skip !== undefined,
    async fn() {
      // README's recommended server block: a token key that outlives the process, and a hold at
      // start until the bridge is linked (a client that came back before would be unheard).
      const server = {
        managementHold: true,
        authGenToken: { lifetimeSec: 0, renewalSec: 43200, externalAuth: true, secret: true },
      };
      await withStack({ lab: { server } }, async (s) => {
        const client = await s.lab.startClient({ name: "alice-laptop" });
        await s.signIn(client, "alice", "alice-password");
        await client.waitForState("CONNECTED", 20_000);
        await assertTunnelCarriesPings(s.lab);

        const lineMark = client.lines.length;
        const bridgeMark = s.bridge.mark();
        await restart(s);

        await client.waitForState("RECONNECTING", 20_000, lineMark);
        await client.waitForState("CONNECTED", 20_000, lineMark);
        await assertTunnelCarriesPings(s.lab);
        await s.bridge.waitForLog(
          /Token reconnect of "?alice"? \(cid \d+\) accepted from the session, no browser needed/,
          5_000,
          bridgeMark,
        );
        const loginUrls = client.lines.filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::"));
        assertEquals(loginUrls.length, 1, "The client was asked to sign in again");
        // The OpenVPN after the restart took the token the one before made.
        assertNotMatch(await s.lab.server.diagnostics(), /HMAC on token from client failed/);
      });
    },
  });
}
