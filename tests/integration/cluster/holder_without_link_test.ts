/**
 * A holder that cannot reach OpenVPN (here: its config names a port nobody listens on, as a
 * network cut between its host and OpenVPN would) while it still reaches Redis: it gives the
 * lease up after 3 leases without its link, and the standby, which can connect, takes over and
 * answers. Before, it renewed the lease for ever and no instance answered OpenVPN at all.
 */
import { assertEquals } from "../../support/assert.ts";
import { clientEnv } from "../../support/bridge_harness.ts";
import { ClusterLab, LEASE_MS } from "../../support/cluster_lab.ts";
import { freePort } from "../../support/free_port.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";
import { pendingAuthUrl } from "../../support/web_auth.ts";

Deno.test({
  name: "cluster: a holder that cannot connect to OpenVPN gives the lease up, and the standby " +
    "that can takes over and answers",
  async fn() {
    const lab = await ClusterLab.start(2);
    try {
      const cutOff = await lab.startInstance(0, { managementPort: await freePort() });
      await pollUntil(
        "bridge-a to take the lease",
        async () => (await lab.leases(cutOff)).includes("default") || undefined,
        10_000,
        20,
      );
      const standby = await lab.startInstance(1);
      assertEquals(await lab.leases(standby), []);
      // 3 leases without a link, then the standby's next request (every second).
      await lab.waitHolding(standby, 3 * LEASE_MS + 10_000);
      assertEquals(await lab.leases(cutOff), [], "bridge-a did not take it back");

      lab.openvpn.sendClientBlock(
        "CONNECT",
        30,
        1,
        clientEnv({ common_name: "alice", session_id: "sess-c30", session_state: "Initial" }),
      );
      const pending = await lab.openvpn.waitForLine((l) =>
        l.startsWith("client-pending-auth 30 1 ")
      );
      assertEquals(new URL(pendingAuthUrl(pending)).origin, standby.baseUrl);
    } finally {
      await lab.dispose();
    }
  },
});
