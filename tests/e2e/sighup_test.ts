/**
 * OpenVPN restarts inside its process (SIGHUP) while a user is signing in: the bridge hears it
 * on the live management link (`state on`), and the sign-in begun before it can no longer admit
 * anyone, although the client that reconnects has its cid and key id again. Needs root, openvpn
 * and chromium.
 */
import { assert, assertMatch } from "../support/assert.ts";
import { announceSkip, browserLabSkipReason } from "./lib/requirements.ts";
import { withStack } from "./lib/stack.ts";

/** The bridge's line for an admitted sign-in: `Login of "alice" (cid 0, certificate ...) accepted`. */
const ALICE_ADMITTED = /Login of "?alice"? \(cid \d+[^\n]* accepted/;

const skip = announceSkip("the e2e OpenVPN SIGHUP test", browserLabSkipReason());

Deno.test({
  name:
    "OpenVPN restarts on SIGHUP while the user is at the IdP: her answer is refused, a new sign-in works",
  ignore: skip !== undefined,
  async fn() {
    await withStack({}, async (s) => {
      const client = await s.lab.startClient({ name: "alice-laptop" });
      const firstUrl = await client.management.waitForWebAuthUrl(20_000);
      let clientMark = 0;
      // Alice's browser is back from the IdP and the bridge is exchanging her code when the
      // server restarts; her client reconnects as the same cid and key id (measured: 0 and 1).
      s.idp.beforeToken = async () => {
        s.idp.beforeToken = undefined;
        clientMark = client.lines.length;
        s.lab.server.hangUp();
        // Measured order: DISCONNECT,0, >STATE RECONNECTING ... CONNECTED, then CONNECT,0,1.
        // The bridge handles them in order: once it answered the CONNECT, it knew the new run
        // (and well within the bridge's 10 s wait for the IdP's answer).
        await client.management.waitForWebAuthUrl(8_000, clientMark);
      };
      const { page } = await s.signIn(client, "alice", "alice-password");
      assert(clientMark > 0, "the restart ran during the code exchange");
      // The bridge refused its own client-auth: the user is told to reconnect (without the
      // check, her reconnected client was admitted on this answer).
      assertMatch(page.text, /VPN connection closed/);
      assert(!ALICE_ADMITTED.test(s.bridge.log), "nobody was admitted on the old sign-in");
      const second = await s.signIn(client, "alice", "alice-password", { since: clientMark });
      assert(second.url !== firstUrl, "a new sign-in link");
      assertMatch(second.page.text, /You are connected/);
      // The same pattern sees an admission: the check above could have failed.
      assertMatch(s.bridge.log, ALICE_ADMITTED);
      await client.waitForState("CONNECTED", 20_000, clientMark);
      assert((await s.lab.pingServer(3)).allReplied);
    });
  },
});
