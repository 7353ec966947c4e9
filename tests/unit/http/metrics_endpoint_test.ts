import { assertEquals, assertStringIncludes } from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";
import { metricsHandler, serveMetrics } from "../../../src/http/metrics_endpoint.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";

Deno.test("GET /metrics answers 200 with the other metrics while the session store is down", async () => {
  const metrics = new PrometheusMetrics();
  metrics.addServer("default", {
    counts: () => Promise.reject(new Error("Redis down")),
    linkUp: () => true,
    tunnels: () => undefined,
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

Deno.test("metricsHandler() serves GET and HEAD /metrics only, never cached: other paths 404, other methods 405", async () => {
  const handler = metricsHandler(() => Promise.resolve("up 1\n"));
  const get = await handler(new Request("http://127.0.0.1/metrics"));
  assertEquals([get.status, await get.text()], [200, "up 1\n"]);
  assertEquals(get.headers.get("cache-control"), "no-store");
  const head = await handler(new Request("http://127.0.0.1/metrics", { method: "HEAD" }));
  assertEquals([head.status, head.body], [200, null]);
  for (const path of ["/", "/metrics/", "/metricsx", "/healthz", "/login/x"]) {
    const response = await handler(new Request(`http://127.0.0.1${path}`));
    assertEquals(response.status, 404, path);
    assertEquals(await response.text(), "Not found\n", path);
  }
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
    const response = await handler(new Request("http://127.0.0.1/metrics", { method }));
    assertEquals(response.status, 405, method);
    assertEquals(response.headers.get("allow"), "GET, HEAD", method);
    await response.body?.cancel();
  }
});

Deno.test("GET /metrics that fails to render answers 500 without the error's text", async () => {
  const handler = metricsHandler(() => Promise.reject(new Error("secret detail")));
  let text = "";
  await logsOf(async () => {
    text = await (await handler(new Request("http://127.0.0.1/metrics"))).text();
  });
  assertEquals(text, "Internal Server Error\n");
});

Deno.test("serveMetrics() listens on the configured address only: a loopback address other than it is refused", async () => {
  const server = await serveMetrics({
    host: "127.0.0.1",
    port: 0,
    maxConnections: 4,
    maxConnectionsPerClient: 4,
    headerTimeoutMs: 1000,
    idleTimeoutMs: 1000,
  }, () => Promise.resolve("up 1\n"));
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assertEquals(await response.text(), "up 1\n");
    // On Linux all of 127/8 reaches a listener bound to 0.0.0.0; elsewhere 127.0.0.2 may not
    // exist at all, and the connection fails either way.
    const elsewhere = await Deno.connect({ hostname: "127.0.0.2", port: server.port }).then(
      (connection) => (connection.close(), true),
      () => false,
    );
    assertEquals(elsewhere, false, "the metrics endpoint answers on 127.0.0.2");
  } finally {
    await server.close();
  }
});
