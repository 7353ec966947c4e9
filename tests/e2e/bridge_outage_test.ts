/**
 * README (sessions): while no bridge is linked OpenVPN drops the requests of the clients that
 * connect meanwhile; the bridge restarts each such client when it is back, "and it reconnects
 * on its token at once". A client restarted (SIGUSR1) while the bridge is stopped waits
 * unanswered in OpenVPN's client list; once a new bridge is up it is CONNECTED again within
 * seconds, without a browser, where before it waited for hand-window (60 s) and AUTH_FAILED.
 * Needs root, openvpn and chromium.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";
import { assertTunnelCarriesPings } from "./lib/tunnel_pings.ts";

const skip = announceSkip("the e2e bridge outage test", browserLabSkipReason());

Deno.test({
  name: "a client that reconnects while the bridge is down is restarted at its return and " +
    "comes back on its token within seconds, without a browser",
  ignore: skip !== undefined,
  async fn() {
    const server = {
      authGenToken: { lifetimeSec: 0, renewalSec: 43200, externalAuth: true },
    };
    await withStack({ lab: { server }, bridge: { sessionsBackend: "file" } }, async (s) => {
      const client = await s.lab.startClient({ name: "alice-laptop" });
      await s.signIn(client, "alice", "alice-password");
      await client.waitForState("CONNECTED", 20_000);

      const lineMark = client.lines.length;
      const bridge = await s.replaceBridge(undefined, async () => {
        // A soft restart keeps the token; its CONNECT reaches no bridge. GET_CONFIG: the TLS
        // handshake is done and the client waits for OpenVPN's answer.
        client.management.connection.send("signal SIGUSR1");
        await client.waitForState("GET_CONFIG", 20_000, lineMark);
      });
      const back = Date.now();
      await client.waitForState("CONNECTED", 15_000, lineMark);
      const seconds = (Date.now() - back) / 1000;
      assert(seconds < 15, `CONNECTED ${seconds} s after the bridge was back`);
      await assertTunnelCarriesPings(s.lab);

      assertMatch(await s.lab.server.diagnostics(), /MANAGEMENT: CMD 'client-kill \d+ "RESTART"'/);
      await bridge.waitForLog(
        /Restarted 1 client\(s\) that connected while the bridge was away/,
        5_000,
      );
      const loginUrls = client.lines.filter((line) => line.startsWith(">INFOMSG:WEB_AUTH::"));
      assertEquals(loginUrls.length, 1, "The client was asked to sign in again");
    });
  },
});
