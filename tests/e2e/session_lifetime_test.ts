/**
 * README "No renegotiation": with `reneg-sec 0` no REAUTH ever comes to deny a client whose session
 * has reached `sessions.lifetime`. The bridge ends every client-auth block with `session-timeout`
 * (the rest of the lifetime), so the real OpenVPN 2.6 server ends the client instance then, and
 * the client comes back to a new sign-in at its next ping-restart. Before, the session was swept while its client stayed
 * connected, beyond the reach of logouts, revocations and re-checks. Takes a minute and a half:
 * the shortest lifetime the config takes is a minute. Needs root, openvpn and chromium.
 */

import { assert, assertMatch } from "../support/assert.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";
import { pollUntil } from "./lib/wait.ts";

const skip = announceSkip("the e2e session lifetime test", browserLabSkipReason());

Deno.test({
  name: "reneg-sec 0: OpenVPN ends alice's client instance when her session's lifetime " +
    "(1 minute) is over, and her tunnel carries nothing more",
  ignore: skip !== undefined,
  async fn() {
    await withStack({
      lab: { server: { renegSec: 0 } },
      bridge: { sessionsToml: 'lifetime = "1m"' },
    }, async (stack) => {
      const client = await stack.lab.startClient({ name: "alice-laptop", renegSec: 0 });
      const { page } = await stack.signIn(client, "alice", "alice-password");
      assertMatch(page.text, /You are connected/);
      await client.waitForState("CONNECTED", 20_000);
      const connectedAt = Date.now();
      // The server ends the instance at the lifetime (its log: "Timers: ... session-timeout 60"
      // when it took the client-auth block, then "Session timeout, exiting"), and the tunnel
      // carries nothing more. The client notices at its next ping-restart and signs in again.
      const told = await pollUntil(
        "OpenVPN taking a session-timeout from the client-auth block",
        async () =>
          /alice-laptop\/\S+ Timers: .*session-timeout (\d+)/.exec(
            await stack.lab.server.diagnostics(),
          ) ?? undefined,
        20_000,
        200,
      );
      assert(Number(told[1]) <= 60 && Number(told[1]) > 30, `session-timeout ${told[1]}`);
      await pollUntil(
        "the server ending alice's client instance",
        async () =>
          /alice-laptop\/\S+ Session timeout, exiting/.test(await stack.lab.server.diagnostics()) ||
          undefined,
        90_000,
        1_000,
      );
      const after = (Date.now() - connectedAt) / 1000;
      assert(after > 30, `ended after only ${after} s`);
      const ping = await stack.lab.pingServer(2);
      assert(!ping.allReplied, `the tunnel still carries pings: ${ping.output}`);
    });
  },
});
