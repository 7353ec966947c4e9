/**
 * The periodic re-check in a cluster: only the instance holding a server's management link
 * re-checks that server's sessions, so two instances never refresh (and so rotate) one refresh
 * token. Each instance's /metrics counts its own token-endpoint requests.
 */
import { assertEquals } from "../../support/assert.ts";
import { ClusterLab, type Instance } from "../../support/cluster_lab.ts";
import { freePort } from "../../support/free_port.ts";
import { pollUntil } from "../../e2e/lib/wait.ts";

/** The shortest interval the config allows: 10 slices of 1 s. */
const RECHECK_SEC = 10;
const TOKEN_REQUESTS = 'openvpn_auth_oidc_idp_request_duration_seconds_count{endpoint="token"}';

async function tokenRequests(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${TOKEN_REQUESTS} `));
  return line === undefined ? 0 : Number(line.slice(TOKEN_REQUESTS.length + 1));
}

async function startWithMetrics(lab: ClusterLab, index: number) {
  const metricsPort = await freePort();
  const instance: Instance = await lab.startInstance(index, {
    sessionsToml: `recheck_interval = "${RECHECK_SEC}s"`,
    extraToml: `[metrics]\nlisten = "127.0.0.1:${metricsPort}"\n`,
  });
  return { instance, metricsPort };
}

Deno.test({
  name: "cluster: only the instance holding the management link re-checks its sessions",
  async fn() {
    const lab = await ClusterLab.start(2);
    try {
      const a = await startWithMetrics(lab, 0);
      await lab.waitHolding(a.instance);
      const b = await startWithMetrics(lab, 1);
      assertEquals(await lab.leases(b.instance), []);

      const { auth } = await lab.aliceSignsInOn(a.instance, a.instance);
      assertEquals(auth?.line, "client-auth 20 1");
      assertEquals(await tokenRequests(a.metricsPort), 1, "the code exchange");

      // Three re-checks by the holder span two full intervals, each of which b's scheduler
      // (same slices, same interval) went through once: b would have refreshed by then.
      // A session is listed when a round begins (up to an interval after the sign-in) and may
      // fall in the round's last slice: the third re-check can come four intervals after it.
      await pollUntil(
        "three re-checks by the holder",
        async () => (await tokenRequests(a.metricsPort)) >= 4 ? true : undefined,
        (4 * RECHECK_SEC + 10) * 1000,
        200,
      );
      assertEquals(await tokenRequests(b.metricsPort), 0, "the standby refreshed a session");
      assertEquals(
        lab.openvpn.received.filter((line) => line.startsWith("client-kill")),
        [],
        "alice was re-checked and kept",
      );
    } finally {
      await lab.dispose();
    }
  },
});
