/**
 * `[cluster]` in the compiled binary (Bun): two instances on one redis-server and one scripted
 * management interface. The lease scripts, the work queue with its pub/sub notification and the
 * release on a clean stop all run under Bun: a sign-in finished on the standby is carried out by
 * the holder, and when the holder stops (SIGTERM) the standby takes the released lease without
 * waiting for it to run out, and answers OpenVPN from then on.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { clientEnv } from "../support/bridge_harness.ts";
import { ClusterLab } from "../support/cluster_lab.ts";

Deno.test({
  name: "the compiled binary: work through Redis to the holder, and a released lease taken at once",
  // Off until run with --sanitize-ops --sanitize-resources against a fresh binary (make
  // test-binary); the source-runtime cluster tests, on the same ClusterLab, pass with them.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    ClusterLab.withHolderAndStandby({ runtime: "binary" }, async (lab, a, b) => {
      const openvpn = lab.openvpn;
      const { page, auth } = await lab.aliceSignsInOn(a, b);
      assertStringIncludes(page.text, "You are connected");
      assertEquals(auth?.connection, 1, "A, the holder, sent client-auth");

      // A renews every LEASE_MS / 3: unreleased, its lease would still be there right after it
      // exits.
      await a.bridge.stop();
      const holder = await lab.leaseHolder();
      assert(holder === null || holder.startsWith("bridge-b#"), `lease still held: ${holder}`);
      await lab.waitHolding(b);
      openvpn.sendClientBlock("REAUTH", 21, 2, clientEnv({ common_name: "bypass-router" }));
      const answer = await openvpn.waitForLine((line) => line === "client-auth-nt 21 2");
      assertEquals(openvpn.transcript.find((e) => e.line === answer)?.connection, 2);
    }),
});
