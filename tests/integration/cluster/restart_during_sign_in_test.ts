/**
 * A sign-in finished on a standby travels to the holder as a work item; if OpenVPN restarted
 * while the user was at the IdP, the holder, which saw the restart on its link, refuses it
 * there (sign_in_guard.ts): the new client that now has the sign-in's cid is not let in.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import { clientEnv } from "../../support/bridge_harness.ts";
import { bridgeLoginOverHttp } from "../../support/bridge_browser.ts";
import { ClusterLab } from "../../support/cluster_lab.ts";
import { pendingAuthUrl } from "../../support/web_auth.ts";

Deno.test({
  name:
    "cluster: a standby's answer to a sign-in begun before OpenVPN restarted is refused by the holder",
  fn: () =>
    ClusterLab.withHolderAndStandby({}, async (lab, a, b) => {
      const openvpn = lab.openvpn;
      openvpn.sendClientBlock(
        "CONNECT",
        0,
        1,
        clientEnv({ common_name: "alice", session_id: "sess-alice", session_state: "Initial" }),
      );
      const pending = await openvpn.waitForLine((l) => l.startsWith("client-pending-auth 0 1 "));
      const url = new URL(pendingAuthUrl(pending));
      assertEquals(url.origin, a.baseUrl);
      let mark = 0;
      // While B exchanges alice's code, OpenVPN restarts inside its process (as 2.6.14 tells
      // it with `state on`) and bob's client becomes cid 0 key id 1, announced to A.
      lab.idp.beforeToken = async () => {
        lab.idp.beforeToken = undefined;
        openvpn.startedAt += 60;
        openvpn.send(`>STATE:${openvpn.startedAt},RECONNECTING,SIGHUP,,,,,\r\n`);
        const before = openvpn.received.length;
        openvpn.sendClientBlock(
          "CONNECT",
          0,
          1,
          clientEnv({ common_name: "bob", session_id: "sess-bob", session_state: "Initial" }),
        );
        await openvpn.waitForLine((l) =>
          openvpn.received.lastIndexOf(l) >= before && l.startsWith("client-pending-auth 0 1 ")
        );
        mark = openvpn.received.length;
      };
      const page = await bridgeLoginOverHttp(
        new URL(url.pathname, b.baseUrl).href,
        b.baseUrl,
        "alice",
        "alice-password",
      );
      assert(mark > 0, "the restart ran during the code exchange");
      assertEquals(page.status, 410, "the holder refused: alice's client is gone");
      assertEquals(openvpn.received.slice(mark).filter((l) => l.startsWith("client-")), []);
    }),
});
