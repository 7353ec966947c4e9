import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";
import { metricsHandler } from "../../../src/http/metrics_endpoint.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";

Deno.test("GET /metrics answers 200 with the other metrics while the session store is down", async () => {
  const metrics = new PrometheusMetrics();
  metrics.addServer("default", {
    counts: () => Promise.reject(new Error("Redis down")),
    linkUp: () => true,
  });
  const handler = metricsHandler(() => metrics.render());
  const response = await handler(new Request("http://127.0.0.1/metrics"));
  assertEquals(response.status, 200);
  const text = await response.text();
  assertStringIncludes(text, 'openvpn_auth_oidc_management_up{server="default"} 1\n');
  assertStringIncludes(
    text,
    'openvpn_auth_oidc_metrics_collector_errors_total{collector="sessions:default"} 1\n',
  );
});

Deno.test("GET /metrics logs a render that fails and answers 500", async () => {
  const handler = metricsHandler(() => Promise.reject(new Error("a bug")));
  let status = 0;
  const lines = await logsOf(async () => {
    status = (await handler(new Request("http://127.0.0.1/metrics"))).status;
  });
  assertEquals(status, 500);
  assertEquals(
    lines.map((l) => [l.category, l.level, l.text]),
    [["metrics", "error", "Metrics scrape failed: a bug"]],
  );
});
