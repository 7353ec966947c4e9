/**
 * A server's own [openvpn.authorization] is held to the rules of the top-level one: its
 * allowed_roles needs oidc.roles_claim as much (without it no user has a role, and that server
 * refuses everyone).
 */
import { assertEquals } from "../../support/assert.ts";
import { HTTP_OIDC_TOML, issuePairsOf, parseInlineToml } from "../../support/config_toml.ts";

const TWO_SERVERS = `
[[openvpn]]
name = "udp-1194"
management = "unix:///run/openvpn/udp.sock"

[[openvpn]]
name = "tcp-443"
management = "unix:///run/openvpn/tcp.sock"

[openvpn.authorization]
allowed_roles = ["vpn-admin"]

${HTTP_OIDC_TOML}
[authorization]
allowed_groups = ["/vpn-users"]
`;

Deno.test("a server's own allowed_roles without oidc.roles_claim is refused, named by that server's table", () => {
  assertEquals(issuePairsOf(TWO_SERVERS), [[
    "openvpn[1].authorization.allowed_roles",
    'Needs oidc.roles_claim, the claim roles are read from (Keycloak: "realm_access.roles")',
  ]]);
  const withClaim = TWO_SERVERS.replace("[oidc]", '[oidc]\nroles_claim = "realm_access.roles"');
  const { config } = parseInlineToml(withClaim);
  assertEquals(config.servers[1]!.authorization.allowedRoles, ["vpn-admin"]);
});
