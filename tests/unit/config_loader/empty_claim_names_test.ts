/**
 * Config load refuses a claim name or path that names no claim: empty, blank, or with an empty
 * or blank segment between its dots. Loaded, `username_claim = ""` denied every user as
 * "missing username claim", `common_name_claim = ""` every certificate, and `groups_claim = ""`
 * or `roles_claim = "realm_access..roles"` read no groups or roles for anyone (a mapper hint in
 * the log pointing at the IdP, not at the config).
 */
import { assertEquals } from "../../support/assert.ts";
import {
  configIssuesOf,
  HTTP_OIDC_TOML,
  MINIMAL_TOML,
  parseTestConfig,
} from "../../support/config_toml.ts";

const EMPTY_SEGMENT = 'Claim path has an empty segment (a leading, trailing or doubled "."): ';

/** MINIMAL_TOML with `lines` added to [oidc]. */
function withOidc(lines: string): string {
  return MINIMAL_TOML.replace('client_id = "openvpn"', `client_id = "openvpn"\n${lines}`);
}

/** Path and message of each issue. */
function issuesOf(source: string, env: Record<string, string> = {}) {
  return configIssuesOf(source, env).map(({ path, message }) => ({ path, message }));
}

Deno.test('parseConfig() refuses username_claim = "", naming the key', () => {
  assertEquals(issuesOf(withOidc('username_claim = ""')), [
    { path: "oidc.username_claim", message: "Claim path is empty" },
  ]);
});

Deno.test("parseConfig() refuses an empty or blank claim path at each [oidc] key", () => {
  const cases: Array<[line: string, path: string, message: string]> = [
    ['groups_claim = ""', "oidc.groups_claim", "Claim path is empty"],
    ['roles_claim = ""', "oidc.roles_claim", "Claim path is empty"],
    ['username_claim = " "', "oidc.username_claim", 'Claim path is blank: " "'],
    ['groups_claim = "a..b"', "oidc.groups_claim", `${EMPTY_SEGMENT}"a..b"`],
    ['roles_claim = ".roles"', "oidc.roles_claim", `${EMPTY_SEGMENT}".roles"`],
    ['roles_claim = "realm_access."', "oidc.roles_claim", `${EMPTY_SEGMENT}"realm_access."`],
    [
      'roles_claim = "realm_access. .roles"',
      "oidc.roles_claim",
      'Claim path has a blank segment between its dots: "realm_access. .roles"',
    ],
  ];
  for (const [line, path, message] of cases) {
    assertEquals(issuesOf(withOidc(line)), [{ path, message }], line);
  }
});

Deno.test("parseConfig() refuses an empty claim path set from the environment", () => {
  assertEquals(issuesOf(MINIMAL_TOML, { OPENVPN_AUTH_OIDC_OIDC_GROUPS_CLAIM: "" }), [{
    path: "oidc.groups_claim",
    message: "Claim path is empty (from OPENVPN_AUTH_OIDC_OIDC_GROUPS_CLAIM)",
  }]);
});

Deno.test("parseConfig() refuses an empty or doubled-dot common_name_claim, per server too", () => {
  assertEquals(issuesOf(`${MINIMAL_TOML}\n[authorization]\ncommon_name_claim = ""\n`), [
    { path: "authorization.common_name_claim", message: "Claim path is empty" },
  ]);
  const source = `
[[openvpn]]
name = "udp"
management = "unix:///run/openvpn/udp.sock"

[openvpn.authorization]
allowed_groups = ["/vpn-users"]
common_name_claim = "cert..cn"

${HTTP_OIDC_TOML}`;
  assertEquals(issuesOf(source), [
    { path: "openvpn[0].authorization.common_name_claim", message: `${EMPTY_SEGMENT}"cert..cn"` },
  ]);
});

Deno.test("parseConfig() refuses a blank or empty-segment required claim name, naming the table", () => {
  for (
    const [name, message] of [
      ['" "', 'Required claim name is blank: " "'],
      [
        '"a..b"',
        `Required claim name has an empty segment (a leading, trailing or doubled "."): "a..b"`,
      ],
      [
        '"email_verified."',
        `Required claim name has an empty segment (a leading, trailing or doubled "."): "email_verified."`,
      ],
    ]
  ) {
    assertEquals(
      issuesOf(`${MINIMAL_TOML}\n[authorization.required_claims]\n${name} = true\n`),
      [{ path: "authorization.required_claims", message }],
      name,
    );
  }
});

Deno.test("parseConfig() still takes dotted, namespaced and default claim paths", () => {
  const { config } = parseTestConfig(
    withOidc(
      'username_claim = "https://example.com/claims.username"\n' +
        'roles_claim = "resource_access.vpn.example.com.roles"',
    ) +
      '\n[authorization]\ncommon_name_claim = "cert_cn"\n' +
      '[authorization.required_claims]\n"https://example.com/verified" = true\n',
  );
  assertEquals(config.oidc.usernameClaim, "https://example.com/claims.username");
  assertEquals(config.oidc.groupsClaim, "groups");
  assertEquals(config.oidc.rolesClaim, "resource_access.vpn.example.com.roles");
  assertEquals(config.authorization.commonNameClaim, "cert_cn");
});
