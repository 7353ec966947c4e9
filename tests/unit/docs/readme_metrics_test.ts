/**
 * README "Metrics" names every metric family the bridge serves, and no other: a dashboard or an
 * alert is written from that list. Its number of tunnels past which `tunnels` is left out is the
 * bridge's (MAX_TUNNELS).
 */
import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";
import { MAX_TUNNELS } from "../../../src/bridge/tunnel_audit.ts";

const README = new URL("../../../README.md", import.meta.url);

/** The Metrics paragraph, its lines joined (it is wrapped, its line breaks anywhere). */
async function metricsParagraph(): Promise<string> {
  const readme = (await Deno.readTextFile(README)).replace(/\s+/g, " ");
  const from = readme.indexOf("- **Metrics**:");
  const to = readme.indexOf("- **What is counted**", from);
  assertEquals([from >= 0, to > from], [true, true], "the README's Metrics paragraph");
  return readme.slice(from, to);
}

/** The families a bridge with one server and `[cluster]` serves, by name. */
async function servedFamilies(): Promise<string[]> {
  const metrics = new PrometheusMetrics();
  metrics.addServer("default", {
    counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
    linkUp: () => true,
    tunnels: () => 0,
  });
  metrics.addCluster("bridge-1", ["default"], () => true);
  const text = await metrics.render();
  return [...text.matchAll(/^# TYPE (openvpn_auth_oidc_\w+) /gm)].map((match) => match[1]!);
}

Deno.test("the README's Metrics paragraph names every openvpn_auth_oidc_ family served, and only those", async () => {
  const paragraph = await metricsParagraph();
  const named = new Set([...paragraph.matchAll(/`(openvpn_auth_oidc_\w+)/g)].map((m) => m[1]!));
  assertEquals([...named].sort(), (await servedFamilies()).sort());
});

Deno.test("the README says how many tunnels the gauge counts at most", async () => {
  assertStringIncludes(
    await metricsParagraph(),
    `or there are over ${MAX_TUNNELS.toLocaleString("en-US")} tunnels`,
  );
});
