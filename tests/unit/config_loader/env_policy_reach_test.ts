/**
 * An `OPENVPN_AUTH_OIDC_AUTHORIZATION_*` variable changes the top-level [authorization] only: a
 * server with a policy of its own never reads it, and no variable reaches that server's table.
 * An operator tightening access from the environment is told which servers it misses.
 */
import { assertEquals } from "../../support/assert.ts";
import {
  configIssuesOf as issuesOf,
  HTTP_OIDC_TOML,
  MINIMAL_TOML,
  parseTestConfig as load,
} from "../../support/config_toml.ts";

/** The reviewer's config: one [openvpn] whose own policy only requires a verified email. */
const OWN_POLICY = `
[openvpn]
management = "unix:///run/openvpn/mgmt.sock"

[openvpn.authorization]
required_claims = { email_verified = true }

${HTTP_OIDC_TOML}`;

const TWO_SERVERS = `
[[openvpn]]
name = "udp-1194"
management = "unix:///run/openvpn/udp.sock"

[[openvpn]]
name = "tcp-443"
management = "unix:///run/openvpn/tcp.sock"

[openvpn.authorization]
required_claims = { email_verified = true }

${HTTP_OIDC_TOML}`;

const ADMINS_ONLY = { OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_GROUPS: '["/vpn-admins"]' };

Deno.test("an [authorization] variable is warned about when a server has a policy of its own, naming it", () => {
  const { config, warnings } = load(OWN_POLICY, ADMINS_ONLY);
  // What the warning is about: the variable changed a policy this server does not use.
  assertEquals(config.authorization.allowedGroups, ["/vpn-admins"]);
  assertEquals(config.servers[0]!.authorization.allowedGroups, []);
  assertEquals(warnings.map(({ path, message }) => ({ path, message })), [{
    path: "openvpn.authorization",
    message: 'Server "default" has a policy of its own: [authorization], which ' +
      "OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_GROUPS sets, does not apply to it, and no " +
      "variable changes a server's own policy (edit this table in the file)",
  }]);
});

Deno.test("only the servers with a policy of their own are named, with every variable", () => {
  const { warnings } = load(TWO_SERVERS, {
    ...ADMINS_ONLY,
    OPENVPN_AUTH_OIDC_AUTHORIZATION_COMMON_NAME_CLAIM: "email",
  });
  assertEquals(warnings.map(({ path }) => path), ["openvpn[1].authorization"]);
  assertEquals(
    warnings[0]!.message.startsWith(
      'Server "tcp-443" has a policy of its own: [authorization], which ' +
        "OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_GROUPS, " +
        "OPENVPN_AUTH_OIDC_AUTHORIZATION_COMMON_NAME_CLAIM set, does not apply to it, ",
    ),
    true,
    warnings[0]!.message,
  );
});

Deno.test("no warning when every server uses [authorization], or no variable sets it", () => {
  assertEquals(load(MINIMAL_TOML, ADMINS_ONLY).warnings, []);
  assertEquals(
    load(TWO_SERVERS.replace(/\[openvpn\.authorization\][^[]*/, ""), ADMINS_ONLY)
      .warnings,
    [],
  );
  assertEquals(load(OWN_POLICY, { OPENVPN_AUTH_OIDC_HTTP_LISTEN: "127.0.0.1:9100" }).warnings, []);
  // The same policy written in the file's [authorization]: the file says what it does.
  const inFile = `${OWN_POLICY}\n[authorization]\nallowed_groups = ["/vpn-admins"]\n`;
  assertEquals(load(inFile).warnings, []);
});

Deno.test("no variable sets [[client_config]]: one is refused, not silently missed by a server's own", () => {
  assertEquals(
    issuesOf(OWN_POLICY, { OPENVPN_AUTH_OIDC_CLIENT_CONFIG_GROUPS: '["/vpn-admins"]' })
      .map(({ path }) => path),
    ["OPENVPN_AUTH_OIDC_CLIENT_CONFIG_GROUPS"],
  );
});
