import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertThrows,
} from "../../support/assert.ts";
import { PrometheusMetrics } from "../../../src/metrics/prometheus.ts";

function line(text: string, prefix: string): string | undefined {
  return text.split("\n").find((l) => l.startsWith(prefix + " ") || l === prefix);
}

Deno.test("PrometheusMetrics exposes every counter at 0 from the start, with fixed labels", async () => {
  const metrics = new PrometheusMetrics();
  metrics.addServer("default", {
    counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
    linkUp: () => false,
    tunnels: () => undefined,
  });
  const text = await metrics.render();
  for (
    const series of [
      'openvpn_auth_oidc_logins_total{server="default",result="timeout"} 0',
      'openvpn_auth_oidc_client_events_total{server="default",event="disconnect",answer="none"} 0',
      'openvpn_auth_oidc_management_reconnects_total{server="default"} 0',
      'openvpn_auth_oidc_management_up{server="default"} 0',
      'openvpn_auth_oidc_denials_total{reason="group"} 0',
      'openvpn_auth_oidc_idp_request_duration_seconds_count{endpoint="token"} 0',
      'openvpn_auth_oidc_management_command_duration_seconds_count{command="client-auth-nt"} 0',
    ]
  ) {
    assert(text.includes(series + "\n"), `missing: ${series}`);
  }
  assertMatch(text, /\nprocess_cpu_seconds_total \d/);
  assertMatch(text, /\nprocess_resident_memory_bytes [1-9]\d*\n/);
  assertMatch(text, /\nprocess_start_time_seconds 1\d{9}\n/);
  assertMatch(text, /\nprocess_open_fds [1-9]\d*\n/);
});

Deno.test("PrometheusMetrics counts calls and reads gauges at scrape time", async () => {
  const metrics = new PrometheusMetrics();
  let sessions = 3;
  const server = metrics.addServer("default", {
    counts: () => Promise.resolve({ sessions, pending: 1 }),
    linkUp: () => true,
    tunnels: () => undefined,
  });
  server.login("admitted");
  server.login("admitted");
  server.clientEvent("reauth", "auth_nt");
  server.managementReconnect();
  metrics.denial("role");
  metrics.idpRequest("token", 0.03);
  metrics.managementCommand("client-deny", 0.0002);
  sessions = 5;
  const text = await metrics.render();
  const expect = (series: string, value: string) =>
    assertEquals(line(text, series), `${series} ${value}`);
  expect('openvpn_auth_oidc_logins_total{server="default",result="admitted"}', "2");
  expect(
    'openvpn_auth_oidc_client_events_total{server="default",event="reauth",answer="auth_nt"}',
    "1",
  );
  expect('openvpn_auth_oidc_management_reconnects_total{server="default"}', "1");
  expect('openvpn_auth_oidc_sessions{server="default"}', "5");
  expect('openvpn_auth_oidc_pending_logins{server="default"}', "1");
  expect('openvpn_auth_oidc_management_up{server="default"}', "1");
  expect('openvpn_auth_oidc_denials_total{reason="role"}', "1");
  expect('openvpn_auth_oidc_idp_request_duration_seconds_bucket{endpoint="token",le="0.05"}', "1");
  expect('openvpn_auth_oidc_idp_request_duration_seconds_bucket{endpoint="token",le="0.025"}', "0");
  expect(
    'openvpn_auth_oidc_management_command_duration_seconds_count{command="client-deny"}',
    "1",
  );
});

Deno.test("PrometheusMetrics serves the other gauges while the session store is down, and counts each failed read", async () => {
  const metrics = new PrometheusMetrics();
  metrics.addServer("udp", {
    counts: () => Promise.reject(new Error("Redis down")),
    linkUp: () => true,
    tunnels: () => undefined,
  });
  metrics.addServer("tcp", {
    counts: () => Promise.resolve({ sessions: 2, pending: 0 }),
    linkUp: () => false,
    tunnels: () => undefined,
  });
  metrics.denial("store_unavailable");
  const errors = (collector: string) =>
    line(text, `openvpn_auth_oidc_metrics_collector_errors_total{collector="${collector}"}`);
  let text = await metrics.render();
  assertEquals(
    line(text, 'openvpn_auth_oidc_management_up{server="udp"}'),
    'openvpn_auth_oidc_management_up{server="udp"} 1',
  );
  assertEquals(
    line(text, 'openvpn_auth_oidc_management_up{server="tcp"}'),
    'openvpn_auth_oidc_management_up{server="tcp"} 0',
  );
  assertEquals(
    line(text, 'openvpn_auth_oidc_sessions{server="tcp"}'),
    'openvpn_auth_oidc_sessions{server="tcp"} 2',
  );
  assertEquals(
    line(text, 'openvpn_auth_oidc_denials_total{reason="store_unavailable"}')?.endsWith(" 1"),
    true,
  );
  assertMatch(text, /\nprocess_resident_memory_bytes [1-9]\d*\n/);
  assertNotMatch(text, /openvpn_auth_oidc_(sessions|pending_logins)\{server="udp"\}/);
  assertEquals(
    errors("sessions:udp"),
    'openvpn_auth_oidc_metrics_collector_errors_total{collector="sessions:udp"} 1',
  );
  assertEquals(errors("sessions:tcp")?.endsWith(" 0"), true);
  assertEquals(errors("process")?.endsWith(" 0"), true);
  text = await metrics.render();
  assertEquals(errors("sessions:udp")?.endsWith(" 2"), true);
  assertNotMatch(text, /openvpn_auth_oidc_(sessions|pending_logins)\{server="udp"\}/);
});

Deno.test("PrometheusMetrics refuses a server never added instead of silently counting nothing", () => {
  const metrics = new PrometheusMetrics();
  metrics.addServer("default", {
    counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
    linkUp: () => true,
    tunnels: () => undefined,
  });
  assertThrows(() => metrics.server("gone"), TypeError, "Unknown OpenVPN server: gone");
});

Deno.test("[cluster]: cluster_lease_held says, at each scrape, which servers this instance holds", async () => {
  const metrics = new PrometheusMetrics();
  const held = new Set(["udp"]);
  metrics.addCluster("bridge-1", ["udp", "tcp"], (server) => held.has(server));
  let text = await metrics.render();
  assertEquals(
    line(text, 'openvpn_auth_oidc_cluster_lease_held{server="udp",instance_id="bridge-1"}')
      ?.endsWith(
        " 1",
      ),
    true,
  );
  assertEquals(
    line(text, 'openvpn_auth_oidc_cluster_lease_held{server="tcp",instance_id="bridge-1"}')
      ?.endsWith(
        " 0",
      ),
    true,
  );
  held.clear();
  text = await metrics.render();
  assertEquals(
    line(text, 'openvpn_auth_oidc_cluster_lease_held{server="udp",instance_id="bridge-1"}')
      ?.endsWith(
        " 0",
      ),
    true,
  );
});

Deno.test("PrometheusMetrics counts clients OpenVPN admitted without asking, per server", async () => {
  const metrics = new PrometheusMetrics();
  const sources = {
    counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
    linkUp: () => true,
    tunnels: () => undefined,
  };
  const udp = metrics.addServer("udp", sources);
  metrics.addServer("tcp", sources);
  udp.unaskedAdmission?.();
  udp.unaskedAdmission?.();
  const text = await metrics.render();
  assertEquals(
    line(text, 'openvpn_auth_oidc_unasked_admissions_total{server="udp"}'),
    'openvpn_auth_oidc_unasked_admissions_total{server="udp"} 2',
  );
  assertEquals(
    line(text, 'openvpn_auth_oidc_unasked_admissions_total{server="tcp"}'),
    'openvpn_auth_oidc_unasked_admissions_total{server="tcp"} 0',
  );
});

Deno.test("PrometheusMetrics times management commands in buckets fit to a real OpenVPN's answers (1 ms to seconds)", async () => {
  const metrics = new PrometheusMetrics();
  // Measured on OpenVPN 2.6: client-auth-nt 1-2.5 ms, client-kill 2.5-5 ms, some 5-50 ms.
  for (const seconds of [0.0015, 0.004, 0.03]) metrics.managementCommand("client-kill", seconds);
  const text = await metrics.render();
  const bounds = text.split("\n")
    .filter((l) =>
      l.startsWith(
        'openvpn_auth_oidc_management_command_duration_seconds_bucket{command="client-kill"',
      )
    )
    .map((l) => /le="([^"]+)"\} (\d+)$/.exec(l)!.slice(1).join(" "));
  assertEquals(bounds, [
    "0.001 0",
    "0.0025 1",
    "0.005 2",
    "0.01 2",
    "0.025 2",
    "0.05 3",
    "0.1 3",
    "0.25 3",
    "1 3",
    "2.5 3",
    "5 3",
    "+Inf 3",
  ]);
});

Deno.test("PrometheusMetrics reads tunnels{server} at each scrape, and leaves a server's out while its count is unknown", async () => {
  const metrics = new PrometheusMetrics();
  const known: Record<string, number | undefined> = { udp: 3, tcp: undefined };
  for (const name of ["udp", "tcp"]) {
    metrics.addServer(name, {
      counts: () => Promise.resolve({ sessions: 0, pending: 0 }),
      linkUp: () => known[name] !== undefined,
      tunnels: () => known[name],
    });
  }
  let text = await metrics.render();
  assertMatch(
    text,
    /# HELP openvpn_auth_oidc_tunnels .+\n# TYPE openvpn_auth_oidc_tunnels gauge\n/,
  );
  assertEquals(
    line(text, 'openvpn_auth_oidc_tunnels{server="udp"}'),
    'openvpn_auth_oidc_tunnels{server="udp"} 3',
  );
  assertNotMatch(text, /openvpn_auth_oidc_tunnels\{server="tcp"\}/);
  known["udp"] = undefined;
  known["tcp"] = 0;
  text = await metrics.render();
  assertNotMatch(text, /openvpn_auth_oidc_tunnels\{server="udp"\}/);
  assertEquals(
    line(text, 'openvpn_auth_oidc_tunnels{server="tcp"}'),
    'openvpn_auth_oidc_tunnels{server="tcp"} 0',
  );
  // Not knowing is no failure of the collector.
  assertEquals(
    line(text, 'openvpn_auth_oidc_metrics_collector_errors_total{collector="management:udp"}'),
    'openvpn_auth_oidc_metrics_collector_errors_total{collector="management:udp"} 0',
  );
});
