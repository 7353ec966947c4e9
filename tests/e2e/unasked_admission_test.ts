/**
 * A real OpenVPN 2.6 server whose config lacks `management-client-auth` asks the bridge about no
 * client: one with a valid certificate completes its handshake unasked, and the management link
 * shows only its `>CLIENT:ESTABLISHED`. The bridge disconnects it and says why (README, "OpenVPN
 * server configuration"). Needs root, openvpn, iproute2 and chromium.
 */
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";

const skip = announceSkip("the e2e unasked admission test", browserLabSkipReason());

Deno.test({
  name: "an OpenVPN server without management-client-auth: the client it lets in unasked is " +
    "killed, and the bridge's error names the missing line",
  ignore: skip !== undefined,
  async fn() {
    // Without auth-user-pass-optional too: OpenVPN refuses that line without management-client-auth
    // (or a script or plugin) and does not start.
    const server = { managementClientAuth: false, authUserPassOptional: false };
    await withStack({ lab: { server } }, async (stack) => {
      const since = stack.bridge.mark();
      await stack.lab.startClient({ name: "mallory-laptop" });
      await stack.lab.server.waitForLog(/MANAGEMENT: CMD 'client-kill 0 "?RESTART"?'/, 30_000);
      await stack.bridge.waitForLog(
        /OpenVPN admitted cid 0 \(certificate "?mallory-laptop"?, from [^)]+\) without asking openvpn-auth-oidc: its config lacks management-client-auth/,
        10_000,
        since,
      );
    });
  },
});
