/**
 * The bridge's management client against a real OpenVPN 2.6 server: a password-protected
 * management interface in hold, which the bridge unlocks, releases, asks for its version and
 * then answers a client's CONNECT. Needs root, openvpn, iproute2 and chromium.
 */
import { assert, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";

const skip = announceSkip("the e2e management tests", browserLabSkipReason());

Deno.test({
  name: "a password-protected management interface in hold: the bridge logs in, releases the " +
    "hold, learns the version, and a client's CONNECT is answered",
  ignore: skip !== undefined,
  async fn() {
    await withStack({
      lab: { server: { managementPassword: 'e2e "mgmt" pass\\word', managementHold: true } },
      bridge: (lab) => ({ managementPasswordFile: join(lab.dir, "server-mgmt.pw") }),
    }, async (stack) => {
      // /readyz said ready, so the password was accepted; OpenVPN logs every command it ran.
      const log = stack.lab.server;
      await log.waitForLog(/MANAGEMENT: CMD 'version'/, 10_000);
      await log.waitForLog(/MANAGEMENT: CMD 'hold release'/, 10_000);
      const client = await stack.lab.startClient({ name: "alice-laptop" });
      const { page } = await stack.signIn(client, "alice", "alice-password");
      assertMatch(page.text, /You are connected/);
      await log.waitForLog(/MANAGEMENT: CMD 'client-pending-auth 0 1 /, 10_000);
      await client.waitForState("CONNECTED", 20_000);
      assert((await stack.lab.pingServer(3)).allReplied);
    });
  },
});
