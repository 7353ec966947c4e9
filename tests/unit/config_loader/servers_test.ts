import { assertEquals, assertThrows } from "../../support/assert.ts";
import { ConfigError } from "../../../src/config_loader/errors.ts";
import { HTTP_OIDC_TOML, parseInlineToml } from "../../support/config_toml.ts";
import { mergeReload } from "../../../src/config/live.ts";

const REST = `
${HTTP_OIDC_TOML}
[authorization]
allowed_groups = ["/vpn-users"]

[[client_config]]
groups = ["/vpn-users"]
lines = ['push "route 10.1.0.0 255.255.0.0"']
`;

const TWO_SERVERS = `
[[openvpn]]
name = "udp-1194"
management = "unix:///run/openvpn/udp.sock"

[[openvpn]]
name = "tcp-443"
management = "tcp://127.0.0.1:7506"
auth_pending_timeout = "1m"
bypass_common_names = ["site-.*"]

[openvpn.authorization]
allowed_groups = ["/vpn-admins"]

[[openvpn.client_config]]
groups = ["/vpn-admins"]
lines = ['push "route 10.2.0.0 255.255.0.0"']
${REST}`;

function load(source: string, env: Record<string, string> = {}) {
  return parseInlineToml(source, "test.toml", env);
}

function issuesOf(source: string) {
  try {
    load(source);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.issues.map(({ path, message }) => [path, message]);
    }
    throw error;
  }
  throw new Error("Expected a ConfigError");
}

Deno.test("[[openvpn]] tables: each server with its own settings and, when given, policy", () => {
  const { config, printable } = load(TWO_SERVERS);
  const [udp, tcp] = config.servers;
  assertEquals(config.servers.length, 2);
  assertEquals([udp!.name, udp!.management], ["udp-1194", {
    kind: "unix",
    path: "/run/openvpn/udp.sock",
  }]);
  assertEquals([udp!.authPendingTimeoutMs, tcp!.authPendingTimeoutMs], [180_000, 60_000]);
  assertEquals(tcp!.bypassCommonNames[0]!.test("site-berlin"), true);
  // udp has no policy of its own: the top-level one applies.
  assertEquals(udp!.authorization.allowedGroups, ["/vpn-users"]);
  assertEquals(udp!.clientConfig, config.clientConfig);
  assertEquals(tcp!.authorization.allowedGroups, ["/vpn-admins"]);
  assertEquals(tcp!.clientConfig, [{
    groups: ["/vpn-admins"],
    lines: ['push "route 10.2.0.0 255.255.0.0"'],
  }]);
  const printed = printable["openvpn"] as Array<Record<string, unknown>>;
  assertEquals(printed.map((server) => server["name"]), ["udp-1194", "tcp-443"]);
  assertEquals((printed[1]!["authorization"] as Record<string, unknown>)["allowed_groups"], [
    "/vpn-admins",
  ]);
});

Deno.test("a single [openvpn] table is the server named default, with env overrides", () => {
  const source = `[openvpn]\nmanagement = "unix:///run/openvpn/mgmt.sock"\n${REST}`;
  const { config } = load(source, { OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMEOUT: "2m" });
  assertEquals(config.servers.map((server) => server.name), ["default"]);
  assertEquals(config.servers[0]!.authPendingTimeoutMs, 120_000);
  const named = load(source.replace("[openvpn]", '[openvpn]\nname = "site-a"'));
  assertEquals(named.config.servers[0]!.name, "site-a");
});

Deno.test("OPENVPN_AUTH_OIDC_OPENVPN_* beside [[openvpn]] tables is refused: it applies to none", () => {
  // It used to be dropped silently, leaving the person who set it believing it applied.
  const error = assertThrows(
    () => load(TWO_SERVERS, { OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMEOUT: "2m" }),
    ConfigError,
  );
  assertEquals(error.issues.map(({ path, message }) => [path, message]), [[
    "OPENVPN_AUTH_OIDC_OPENVPN_AUTH_PENDING_TIMEOUT",
    "Does not apply to [[openvpn]] tables (only to a single [openvpn] table): set " +
    "auth_pending_timeout in each [[openvpn]] table instead",
  ]]);
  // Variables of the other sections still apply.
  const { config } = load(TWO_SERVERS, { OPENVPN_AUTH_OIDC_HTTP_LISTEN: "127.0.0.1:9100" });
  assertEquals(config.servers.map((server) => server.authPendingTimeoutMs), [180_000, 60_000]);
  assertEquals(config.http.listen.port, 9100);
});

Deno.test("server config errors name the server's path", () => {
  const cases: Array<[string, Array<[string, string]>]> = [
    [
      TWO_SERVERS.replace('name = "tcp-443"\n', ""),
      [["openvpn[1].name", "Missing required key: each [[openvpn]] server needs a name"]],
    ],
    [
      TWO_SERVERS.replace('name = "tcp-443"', 'name = "udp-1194"'),
      [["openvpn[1].name", 'Server name "udp-1194" is already used by openvpn[0]']],
    ],
    [
      TWO_SERVERS.replace('name = "tcp-443"', 'name = "tcp 443"'),
      [["openvpn[1].name", 'Expected 1 to 32 letters, digits or "-", got "tcp 443"']],
    ],
    [
      TWO_SERVERS.replace("tcp://127.0.0.1:7506", "unix:///run/openvpn/udp.sock"),
      [["openvpn[1].management", "Same management interface as openvpn[0]"]],
    ],
    [
      TWO_SERVERS.replace('auth_pending_timeout = "1m"', 'auth_pending_timout = "1m"'),
      [["openvpn[1].auth_pending_timout", 'Unknown key (did you mean "auth_pending_timeout"?)']],
    ],
    [
      TWO_SERVERS.replace("lines = ['push \"route 10.2.0.0", "lines = ['route \"10.2.0.0"),
      [[
        "openvpn[1].client_config[0].lines[0]",
        'Directive "route" is not allowed in a client-auth block: allowed are push, push-reset, push-remove, ifconfig-push, ifconfig-ipv6-push, iroute, iroute-ipv6, vlan-pvid, inactive, session-timeout, ping, ping-exit, ping-restart, ping-timer-rem, max-routes-per-client, echo',
      ]],
    ],
    [
      TWO_SERVERS.replace('allowed_groups = ["/vpn-admins"]', 'allowed_groups = ["/vpn-admins/"]'),
      [["openvpn[1].authorization.allowed_groups[0]", 'Group path ends with "/": "/vpn-admins/"']],
    ],
    [
      `[openvpn]\nmanagement = "unix:///run/openvpn/mgmt.sock"\nname = ""\n${REST}`,
      [["openvpn.name", 'Expected 1 to 32 letters, digits or "-", got ""']],
    ],
  ];
  for (const [source, expected] of cases) assertEquals(issuesOf(source), expected);
});

Deno.test("a reload takes each server's policy and names server keys that need a restart", () => {
  const old = load(TWO_SERVERS).config;
  const next = load(
    TWO_SERVERS.replace('allowed_groups = ["/vpn-admins"]', 'allowed_groups = ["/ops"]')
      .replace("unix:///run/openvpn/udp.sock", "unix:///run/openvpn/udp2.sock"),
  ).config;
  const { config, kept } = mergeReload(old, next);
  assertEquals(kept, ["openvpn[udp-1194].management"]);
  assertEquals(config.servers[1]!.authorization.allowedGroups, ["/ops"]);
  assertEquals(config.servers[0]!.management, old.servers[0]!.management);
});

Deno.test("a reload that drops a server from the file: it runs on under the new [authorization] it followed, or its own policy, and only it is named", () => {
  const old = load(TWO_SERVERS).config;
  // udp-1194 (following [authorization]) is dropped, and [authorization] tightened.
  const withoutUdp = TWO_SERVERS.replace(
    '[[openvpn]]\nname = "udp-1194"\nmanagement = "unix:///run/openvpn/udp.sock"\n',
    "",
  ).replace('allowed_groups = ["/vpn-users"]', 'allowed_groups = ["/vpn-users/staff"]');
  const dropUdp = mergeReload(old, load(withoutUdp).config);
  assertEquals(dropUdp.config.servers.map((s) => s.name), ["udp-1194", "tcp-443"]);
  assertEquals(dropUdp.config.servers[0]!.authorization.allowedGroups, ["/vpn-users/staff"]);
  assertEquals(dropUdp.config.servers[1]!.authorization.allowedGroups, ["/vpn-admins"]);
  assertEquals(
    dropUdp.kept.filter((key) => !key.startsWith("openvpn[udp-1194]")),
    [],
    "the server left in the file is not named as kept",
  );
  // tcp-443 (with a policy of its own) is dropped, and [authorization] loosened: it keeps its own.
  const withoutTcp = TWO_SERVERS.slice(0, TWO_SERVERS.indexOf('[[openvpn]]\nname = "tcp-443"')) +
    REST.replace('allowed_groups = ["/vpn-users"]', "allowed_groups = []");
  const dropTcp = mergeReload(old, load(withoutTcp).config);
  assertEquals(dropTcp.config.servers[1]!.authorization.allowedGroups, ["/vpn-admins"]);
  assertEquals(dropTcp.config.servers[0]!.authorization.allowedGroups, []);
});

Deno.test("a server whose own policy requires nothing, while [authorization] does, is warned about (every IdP user may connect to it)", () => {
  assertEquals(load(TWO_SERVERS).warnings, []);
  const open = load(
    TWO_SERVERS.replace('allowed_groups = ["/vpn-admins"]', 'common_name_claim = "email"'),
  );
  assertEquals(open.warnings.map(({ path }) => path), ["openvpn[1].authorization"]);
  assertEquals(
    open.warnings[0]!.message,
    `Server "tcp-443"'s own policy requires no group, role or claim: every user the IdP signs in ` +
      "may connect to it ([authorization] does not apply to a server with a policy of its own)",
  );
  // With no top-level rule either, nothing is narrowed for that server: nothing to say.
  const noRules = TWO_SERVERS.replace(
    'allowed_groups = ["/vpn-admins"]',
    'common_name_claim = "email"',
  )
    .replace('allowed_groups = ["/vpn-users"]', "allowed_groups = []");
  assertEquals(load(noRules).warnings, []);
});

Deno.test("a server name of 32 characters is taken, 33 refused (the message's bound)", () => {
  const named = (name: string) =>
    `[openvpn]\nmanagement = "unix:///run/openvpn/mgmt.sock"\nname = "${name}"\n${REST}`;
  assertEquals(load(named("a".repeat(32))).config.servers[0]!.name, "a".repeat(32));
  assertEquals(issuesOf(named("a".repeat(33))), [
    ["openvpn.name", `Expected 1 to 32 letters, digits or "-", got "${"a".repeat(33)}"`],
  ]);
});
