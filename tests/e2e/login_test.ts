/**
 * First logins through the real bridge: the VPN client announces the bridge's URL on its own
 * management interface, a real Chromium signs in at the Keycloak-like IdP, and the OpenVPN
 * server lets the client in (or not). Needs root, openvpn, iproute2 and chromium.
 */

import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import type { BridgeRuntime } from "./lib/bridge_process.ts";
import {
  announceSkip,
  binaryLabSkipReason,
  browserLabSkipReason,
  labSkipReason,
} from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";
import { pollUntil, withTimeout } from "./lib/wait.ts";

const browserSkip = announceSkip("the e2e login tests", browserLabSkipReason());
const labSkip = labSkipReason();
const binarySkip = browserSkip ?? announceSkip("the bridge binary e2e test", binaryLabSkipReason());

for (const runtime of ["source", "binary"] as const satisfies readonly BridgeRuntime[]) {
  Deno.test({
    name: `alice signs in with the browser: CONNECTED, pings cross the tunnel, her group's route ` +
      `is pushed (bridge ${runtime === "source" ? "from source" : "binary"})`,
    ignore: (runtime === "source" ? browserSkip : binarySkip) !== undefined,
    async fn() {
      await withStack({
        runtime,
        bridge: (lab) => ({
          clientConfig: [{
            groups: ["/staff/vpn-admins"],
            lines: [`push "route ${lab.network.spareNetwork} 255.255.255.0"`],
          }],
        }),
      }, async (stack) => {
        const slot = stack.lab.network.slot;
        const client = await stack.lab.startClient({ name: "alice-laptop" });
        const { url, page } = await stack.signIn(client, "alice", "alice-password");
        assert(url.startsWith(`${stack.listenUrl}/login/`), url);
        assertMatch(page.text, /You are connected/);
        assertMatch(page.text, /Signed in as alice/);

        const connected = await client.waitForState("CONNECTED", 20_000);
        assertMatch(connected.localIp, new RegExp(`^10\\.201\\.${slot}\\.\\d+$`));
        const ping = await stack.lab.pingServer(3);
        assert(ping.allReplied, ping.output);
        const spare = stack.lab.network.spareNetwork;
        const route = `${spare} 255.255.255.0`;
        assert(
          (await client.pushedRoutes()).includes(route),
          "Her group's route was not pushed",
        );
        const routes = await client.routes();
        assert(
          routes.some((line) => line.startsWith(`${spare}/24 `)),
          routes.join("\n"),
        );
        // A certificate-only client sent no username: the bridge names the user for OpenVPN.
        assert(
          (await client.pushReply())?.includes("auth-token-user YWxpY2U="),
          "auth-token-user was not pushed",
        );
        await stack.bridge.stop();
      });
    },
  });
}

Deno.test({
  name: "bob is not in an allowed group: the client is halted with the reason and the " +
    "browser shows it",
  ignore: browserSkip !== undefined,
  async fn() {
    await withStack({}, async (stack) => {
      const client = await stack.lab.startClient({ name: "bob-laptop" });
      const { page } = await stack.signIn(client, "bob", "bob-password");
      assertMatch(page.text, /Access denied/);
      // HALT, not AUTH_FAILED: a retry would sign bob in again to the same refusal.
      const reason = await client.waitForHalt(15_000);
      assert(reason.length > 0, "The client got no reason");
      assert(page.text.includes(reason), `The page does not show "${reason}": ${page.text}`);
      await withTimeout("the refused client to exit", client.exited, 15_000);
      assertEquals(client.tunnelIp, undefined);
    });
  },
});

Deno.test({
  name: "a wrong password at the IdP, then the pending timeout: the bridge halts the client " +
    "with a reason, and the sign-in link is dead",
  ignore: browserSkip !== undefined,
  async fn() {
    await withStack({ bridge: { authPendingTimeout: "15s" } }, async (stack) => {
      const client = await stack.lab.startClient({ name: "alice-laptop" });
      const pending = await client.waitForAuthPending(15_000);
      // The bridge announces its deadline plus a few seconds' grace; the server may cap it.
      const timeoutSec = Number(/timeout (\d+)/.exec(pending.description)?.[1] ?? "NaN");
      assert(timeoutSec > 0 && timeoutSec <= 20, pending.description);
      const { url, page } = await stack.signIn(client, "alice", "not-her-password");
      assertMatch(page.text, /Invalid username or password/);

      // Nothing hangs: at its deadline the bridge ends the attempt and says why.
      const reason = await client.waitForHalt(15_000 + 20_000);
      assertMatch(reason, /Sign-in was not completed in time/);
      await withTimeout("the refused client to exit", client.exited, 15_000);
      assertEquals(
        client.management.states().some((state) => state.name === "CONNECTED"),
        false,
      );
      assertEquals(client.tunnelIp, undefined);
      // The first attempt's link is dead: a late sign-in cannot let anyone in.
      const browser = await stack.browser();
      const late = await browser.visit(url);
      assertMatch(late.text, /Sign-in link expired/);
    });
  },
});

Deno.test({
  name: "a client without IV_SSO webauth is halted with a message that says why",
  ignore: labSkip !== undefined,
  async fn() {
    await withStack({}, async (stack) => {
      const client = await stack.lab.startClient({ name: "old-client", ivSso: false });
      const reason = await client.waitForHalt(15_000);
      assertMatch(reason, /browser sign-in/);
      assertMatch(reason, /IV_SSO webauth/);
      await withTimeout("the refused client to exit", client.exited, 15_000);
      assertEquals(
        client.lines.some((line) => line.startsWith(">INFOMSG:WEB_AUTH::")),
        false,
        "A client without webauth was sent a login URL",
      );
      await pollUntil("the bridge to log the denial", () => {
        return /denied: "?client does not support web authentication/.test(stack.bridge.log)
          ? true
          : undefined;
      }, 5000);
    });
  },
});
