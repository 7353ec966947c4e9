/**
 * Two bridge processes, one scripted management interface, one redis-server:
 * - a sign-in started on the link holder (A) and finished in a browser on the other instance
 *   (B) is carried out by A and confirmed on B only after OpenVPN answered;
 * - an admin revoke on B disconnects the client through A (`client-kill` on A's link);
 * - Redis becomes unreachable for A only (its proxy is cut): A stops writing to OpenVPN once
 *   its lease can no longer have been renewed, and B takes over the link and answers.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { clientEnv } from "../../support/bridge_harness.ts";
import { ClusterLab, LEASE_MS } from "../../support/cluster_lab.ts";
import { delay, pollUntil } from "../../e2e/lib/wait.ts";
import { sendControlRequest } from "../../../src/control/client.ts";

Deno.test({
  name:
    "cluster: a sign-in finished and a revoke made on the standby are carried out by the holder; a holder cut off from Redis stops writing and the standby takes over",
  fn: () =>
    ClusterLab.withHolderAndStandby({ proxied: true }, async (lab, a, b) => {
      const openvpn = lab.openvpn;

      // Alice's VPN client connects through A's link; her browser lands on B.
      const { page, auth } = await lab.aliceSignsInOn(a, b);
      assertEquals(page.status, 200, page.text);
      assertStringIncludes(page.text, "You are connected");
      assertEquals(auth?.connection, 1, "A, the holder, sent client-auth");

      // The administrator revokes alice's sessions on B: A sends the client-kill.
      const revoked = await sendControlRequest(b.controlSocket, {
        command: "sessions.revoke",
        target: { kind: "user", username: "alice" },
      });
      assertEquals(revoked, { ok: true, ended: 1, stillConnected: [] });
      const kill = openvpn.transcript.find((entry) => entry.line.startsWith("client-kill 20 "));
      assertEquals(kill?.connection, 1, "A, the holder, sent client-kill");

      // Redis unreachable for A only. Renegotiations keep coming.
      const cutAt = Date.now();
      a.proxy!.cut();
      let kid = 1;
      let answering = true;
      const reauths = (async () => {
        while (answering) {
          openvpn.sendClientBlock(
            "REAUTH",
            30,
            ++kid,
            clientEnv({ common_name: "bypass-router", session_id: "" }),
          );
          await delay(100);
        }
      })();
      try {
        await a.bridge.waitForLog(/no longer holds the lease/, LEASE_MS + 3_000);
        await openvpn.waitForConnections(2, LEASE_MS + 5_000);
        await lab.waitHolding(b);
        const takenOverKid = kid;
        await pollUntil(
          "B to answer a renegotiation",
          () =>
            openvpn.transcript.some((e) =>
                e.connection === 2 && e.line.startsWith("client-auth-nt 30 ") &&
                Number(e.line.split(" ")[2]) > takenOverKid
              )
              ? true
              : undefined,
          5_000,
        );
      } finally {
        // Stopped however the wait ended, before the lab is disposed of.
        answering = false;
        await reauths;
      }

      const fromA = openvpn.transcript.filter((entry) => entry.connection === 1);
      assert(fromA.some((e) => e.line.startsWith("client-auth-nt 30 ")), "A answered at first");
      // A's last renewal went out before the cut: after cutAt + lease, Redis may have given the
      // lease to B, and A must have stopped writing by then.
      const late = fromA.filter((entry) => entry.at >= cutAt + LEASE_MS);
      assertEquals(late, [], "A wrote after its lease could have run out");
      // A keeps serving pages but holds nothing, and does not come back to the link.
      assertEquals(await lab.leases(a), []);
      await delay(1_000);
      assertEquals(openvpn.connections, 2);
      assert((await lab.leaseHolder())?.startsWith("bridge-b#"));
    }),
});
