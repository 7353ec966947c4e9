/**
 * Each timeout, limit and policy key reaches its own field of the resolved config. The defaults
 * of many pairs are equal (header_timeout and idle_timeout are both 10s), so only distinct values
 * show that two were not swapped: a swap would keep a slow client's connection open for the idle
 * time instead of the header time, or count connections against the wrong limit.
 */
import { assertEquals } from "../../support/assert.ts";
import { parseInlineToml } from "../../support/config_toml.ts";

const SOURCE = `
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"
auth_pending_timeout = "2m"
command_timeout = "3s"
reconnect_max_delay = "50s"

[http]
base_url = "https://vpn.example.com"
secret = "0123456789abcdef0123456789abcdef"
header_timeout = "7s"
idle_timeout = "13s"
max_connections = 300
max_connections_per_client = 9

[oidc]
issuer = "https://sso.example.com/realms/vpn"
client_id = "openvpn"
client_secret = "s3cret"
clock_tolerance = "45s"
http_timeout = "4s"
max_open_requests = 64
revoke_refresh_tokens = false

[sessions]
lifetime = "8h"
sweep_interval = "2m"
recheck_interval = "15m"
max_entries = 5000
max_per_user = 3
max_per_user_action = "deny_new"
idp_unreachable = "allow"
store_unreachable = "allow"
`;

Deno.test("each timeout and limit key reaches its own resolved field, none swapped with its neighbour", () => {
  const { config } = parseInlineToml(SOURCE);
  const server = config.servers[0]!;
  assertEquals({
    authPendingTimeoutMs: server.authPendingTimeoutMs,
    commandTimeoutMs: server.commandTimeoutMs,
    reconnectMaxDelayMs: server.reconnectMaxDelayMs,
  }, { authPendingTimeoutMs: 120_000, commandTimeoutMs: 3_000, reconnectMaxDelayMs: 50_000 });
  assertEquals({
    headerTimeoutMs: config.http.headerTimeoutMs,
    idleTimeoutMs: config.http.idleTimeoutMs,
    maxConnections: config.http.maxConnections,
    maxConnectionsPerClient: config.http.maxConnectionsPerClient,
  }, {
    headerTimeoutMs: 7_000,
    idleTimeoutMs: 13_000,
    maxConnections: 300,
    maxConnectionsPerClient: 9,
  });
  assertEquals({
    clockToleranceSec: config.oidc.clockToleranceSec,
    httpTimeoutMs: config.oidc.httpTimeoutMs,
    maxOpenRequests: config.oidc.maxOpenRequests,
  }, { clockToleranceSec: 45, httpTimeoutMs: 4_000, maxOpenRequests: 64 });
  const { lifetimeMs, sweepIntervalMs, recheckIntervalMs, maxEntries, maxPerUser } =
    config.sessions;
  assertEquals({ lifetimeMs, sweepIntervalMs, recheckIntervalMs, maxEntries, maxPerUser }, {
    lifetimeMs: 8 * 3_600_000,
    sweepIntervalMs: 120_000,
    recheckIntervalMs: 900_000,
    maxEntries: 5000,
    maxPerUser: 3,
  });
  const { maxPerUserAction, idpUnreachable, storeUnreachable } = config.sessions;
  assertEquals({ maxPerUserAction, idpUnreachable, storeUnreachable }, {
    maxPerUserAction: "deny_new",
    idpUnreachable: "allow",
    storeUnreachable: "allow",
  });
});

Deno.test("oidc.revoke_refresh_tokens: on unless turned off", () => {
  assertEquals(parseInlineToml(SOURCE).config.oidc.revokeRefreshTokens, false);
  const unset = SOURCE.replace("revoke_refresh_tokens = false\n", "");
  assertEquals(parseInlineToml(unset).config.oidc.revokeRefreshTokens, true);
});
