import { assertEquals } from "../../support/assert.ts";
import { type Cluster, clusterReadiness } from "../../../src/cluster/cluster.ts";

function cluster(leases: string[], up: Record<string, boolean>): Cluster {
  return {
    instanceId: "bridge-2",
    commander: () => {
      throw new Error("not used");
    },
    linkUp: (server) => up[server] ?? false,
    tunnels: () => undefined,
    leases: () => leases,
    holds: (server) => leases.includes(server),
    stop: () => Promise.resolve(),
  };
}

Deno.test("/readyz in a cluster names the instance and its leases; a standby holding none is ready", () => {
  assertEquals(clusterReadiness(cluster([], {})), {
    management: true,
    servers: {},
    cluster: { instance: "bridge-2", leases: [] },
  });
  assertEquals(clusterReadiness(cluster(["udp", "tcp"], { udp: true, tcp: false })), {
    management: false,
    servers: { udp: true, tcp: false },
    cluster: { instance: "bridge-2", leases: ["udp", "tcp"] },
  });
});
