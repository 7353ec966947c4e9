/**
 * What counting costs on the REAUTH path, next to the same call uncounted:
 *
 *   deno bench -A bench/metrics_cost_bench.ts
 *
 * A REAUTH answered from the session costs the bridge tens of microseconds (B1); these are the
 * parts metrics add to it: one counter increment and the command timing around client-auth-nt.
 */
import { managementCommander } from "../src/bridge/management_commander.ts";
import type { Reply } from "../src/management/events.ts";
import { noMetrics } from "../src/metrics/port.ts";
import { PrometheusMetrics } from "../src/metrics/prometheus.ts";

const metrics = new PrometheusMetrics();
const server = metrics.addServer("default", {
  counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
  linkUp: () => true,
  tunnels: () => undefined,
});
const off = noMetrics.server("default");

Deno.bench("count a REAUTH answer (metrics on)", { group: "count" }, () => {
  server.clientEvent("reauth", "auth_nt");
});
Deno.bench("count a REAUTH answer (metrics off)", { group: "count", baseline: true }, () => {
  off.clientEvent("reauth", "auth_nt");
});

// OpenVPN's answer at once, so that the difference is the timing alone.
const answered: Promise<Reply> = Promise.resolve({ ticket: 1, type: "success", message: "ok" });
const connection = {
  send: () => answered,
  status: () => ({ linkUp: true, managementVersion: 5, lastError: undefined }),
};
const timed = managementCommander(connection, metrics);
const untimed = managementCommander(connection);

Deno.bench("client-auth-nt, timed", { group: "command" }, async () => {
  await timed.authNt(1, 1);
});
Deno.bench("client-auth-nt, untimed", { group: "command", baseline: true }, async () => {
  await untimed.authNt(1, 1);
});
