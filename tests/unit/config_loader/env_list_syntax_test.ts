/**
 * List keys set by environment variables: the documented TOML array works, a bare value is one
 * item, and a bare value that reads like several items is refused (naming the variable and the
 * array to write), never taken as one item: that is a wrong access rule nobody is told about.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  configIssuesOf as issuesOf,
  MINIMAL_TOML,
  parseTestConfig as load,
} from "../../support/config_toml.ts";
import { listItems } from "../../../src/config_loader/env_list.ts";
import { envName, SCHEMA, SERVER_SPEC } from "../../../src/config_loader/schema.ts";

const GROUPS = "OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_GROUPS";
const SCOPES = "OPENVPN_AUTH_OIDC_OIDC_SCOPES";

/** The `VARIABLE='value'` a message tells the operator to write, parsed back. */
function suggested(message: string, variable: string): string {
  const match = new RegExp(`${variable}='([^']*)'`).exec(message);
  assert(match, `no ${variable}='...' in: ${message}`);
  return match[1]!;
}

Deno.test("a bare list value with a comma is refused, naming the variable and the array to write", () => {
  const issues = issuesOf(MINIMAL_TOML, { [GROUPS]: "/vpn-users,/staff/vpn-admins" });
  assertEquals(issues, [{
    path: "authorization.allowed_groups",
    message: `Environment variable ${GROUPS} holds a comma, but a bare value is a single item: ` +
      `write the list as a TOML array, ${GROUPS}='["/vpn-users", "/staff/vpn-admins"]'`,
  }]);
  // What the message suggests is accepted, and is the list that was meant.
  const { config } = load(MINIMAL_TOML, { [GROUPS]: suggested(issues[0]!.message, GROUPS) });
  assertEquals(config.authorization.allowedGroups, ["/vpn-users", "/staff/vpn-admins"]);
});

Deno.test("a bare scopes value with spaces is refused, showing the array to write", () => {
  const issues = issuesOf(MINIMAL_TOML, { [SCOPES]: "openid profile email" });
  assertEquals(issues, [{
    path: "oidc.scopes",
    message: `Environment variable ${SCOPES} holds whitespace, but no item of oidc.scopes can ` +
      `hold whitespace: write the list as a TOML array, ${SCOPES}='["openid", "profile", "email"]'`,
  }]);
  const { config } = load(MINIMAL_TOML, { [SCOPES]: suggested(issues[0]!.message, SCOPES) });
  assertEquals(config.oidc.scopes, ["openid", "profile", "email"]);
});

Deno.test("the README's TOML array form sets a list from the environment", () => {
  const { config } = load(MINIMAL_TOML, {
    [GROUPS]: '["/vpn-users", "/staff/vpn-admins"]',
    [SCOPES]: "['openid', 'offline_access']",
    OPENVPN_AUTH_OIDC_HTTP_TRUSTED_PROXIES: '["10.0.0.0/8", "192.168.0.1"]',
  });
  assertEquals(config.authorization.allowedGroups, ["/vpn-users", "/staff/vpn-admins"]);
  assertEquals(config.oidc.scopes, ["openid", "offline_access"]);
  assertEquals(config.http.trustedProxies, ["10.0.0.0/8", "192.168.0.1"]);
});

Deno.test("a bare list value without a comma is still a list of one item", () => {
  const { config } = load(MINIMAL_TOML, {
    [GROUPS]: "/vpn-users",
    // Roles and common names may hold a space: one item, as written.
    OPENVPN_AUTH_OIDC_AUTHORIZATION_ALLOWED_ROLES: "VPN Users",
    OPENVPN_AUTH_OIDC_OIDC_ROLES_CLAIM: "realm_access.roles",
    [SCOPES]: "openid",
    OPENVPN_AUTH_OIDC_OPENVPN_BYPASS_COMMON_NAMES: "build bot",
  });
  assertEquals(config.authorization.allowedGroups, ["/vpn-users"]);
  assertEquals(config.authorization.allowedRoles, ["VPN Users"]);
  assertEquals(config.oidc.scopes, ["openid"]);
  assertEquals(config.servers[0]!.bypassCommonNames.map(String), ["/^(?:build bot)$/"]);
});

Deno.test("a bare bypass_common_names value is one pattern, the comma of its {m,n} and all", () => {
  const { config } = load(MINIMAL_TOML, {
    OPENVPN_AUTH_OIDC_OPENVPN_BYPASS_COMMON_NAMES: "site-gw-[0-9]{1,3}",
  });
  const patterns = config.servers[0]!.bypassCommonNames;
  assertEquals(patterns.map(String), ["/^(?:site-gw-[0-9]{1,3})$/"]);
  assert(patterns[0]!.test("site-gw-12"));
  assert(!patterns[0]!.test("site-gw-1234"));
});

/** Every list key a variable can set: a key added to the schema is covered without a change here. */
const LIST_VARIABLES: ReadonlyArray<
  { path: string; variable: string; section: string; key: string }
> = [
  ...Object.entries(SCHEMA).flatMap(([section, spec]) =>
    Object.entries(spec).flatMap(([key, keySpec]) =>
      keySpec.type === "strings" ? [{ section, key }] : []
    )
  ),
  ...Object.entries(SERVER_SPEC).flatMap(([key, keySpec]) =>
    keySpec.type === "strings" ? [{ section: "openvpn", key }] : []
  ),
].map(({ section, key }) => ({
  path: `${section}.${key}`,
  variable: envName(section, key),
  section,
  key,
}));

Deno.test("every list key refuses a bare value with a comma (but where items are patterns), or an empty one", () => {
  assertEquals(LIST_VARIABLES.map(({ path }) => path).sort(), [
    "authorization.allowed_groups",
    "authorization.allowed_roles",
    "http.form_action_origins",
    "http.trusted_proxies",
    "oidc.scopes",
    "openvpn.bypass_common_names",
    "openvpn.web_auth_flags",
  ]);
  const patternKeys = LIST_VARIABLES.filter(({ section, key }) =>
    listItems(section, key) === "patterns"
  );
  assertEquals(patternKeys.map(({ path }) => path), ["openvpn.bypass_common_names"]);
  for (const { path, variable, section, key } of LIST_VARIABLES) {
    if (listItems(section, key) === "patterns") {
      // A comma is regular expression syntax there: the bare value is one pattern.
      const { config } = load(MINIMAL_TOML, { [variable]: "a,b" });
      assertEquals(config.servers[0]!.bypassCommonNames.map(String), ["/^(?:a,b)$/"], variable);
    } else {
      const comma = issuesOf(MINIMAL_TOML, { [variable]: "a,b" });
      assertEquals(comma.map((issue) => issue.path), [path], variable);
      assertEquals(suggested(comma[0]!.message, variable), '["a", "b"]', variable);
    }
    // Not [""]: an empty bypass pattern matches an empty common name.
    assertEquals(issuesOf(MINIMAL_TOML, { [variable]: "" }), [{
      path,
      message: `Environment variable ${variable} is empty: write ${variable}='[]' for none`,
    }]);
  }
});

Deno.test("a bare address list with spaces is refused, and one with a password is not quoted", () => {
  const variable = "OPENVPN_AUTH_OIDC_HTTP_TRUSTED_PROXIES";
  const spaced = issuesOf(MINIMAL_TOML, { [variable]: "10.0.0.1 10.0.0.2" });
  assertEquals(suggested(spaced[0]!.message, variable), '["10.0.0.1", "10.0.0.2"]');
  const withPassword = issuesOf(MINIMAL_TOML, { [variable]: "admin:S3cretPw@10.0.0.1,10.0.0.2" });
  assertEquals(withPassword.map((issue) => issue.path), ["http.trusted_proxies"]);
  assert(!withPassword[0]!.message.includes("S3cretPw"), withPassword[0]!.message);
  assertEquals(suggested(withPassword[0]!.message, variable), '["<item 1>", "<item 2>"]');
});

Deno.test("a bare form_action_origins value with a space is refused, showing the array to write", () => {
  const variable = "OPENVPN_AUTH_OIDC_HTTP_FORM_ACTION_ORIGINS";
  const spaced = issuesOf(MINIMAL_TOML, {
    [variable]: "https://login.example.com https://sso.example.org",
  });
  assertEquals(spaced.map((issue) => issue.path), ["http.form_action_origins"]);
  assertEquals(
    suggested(spaced[0]!.message, variable),
    '["https://login.example.com", "https://sso.example.org"]',
  );
});

Deno.test("the array a refusal suggests, pasted into the shell's single quotes, is the items written", () => {
  const written = 'O\'Brien,/VPN Users,C:\\"quoted"';
  const issues = issuesOf(MINIMAL_TOML, { [GROUPS]: written });
  const array = suggested(issues[0]!.message, GROUPS);
  assert(!array.includes("'"), array);
  const { config } = load(MINIMAL_TOML, { [GROUPS]: array });
  assertEquals(config.authorization.allowedGroups, ["O'Brien", "/VPN Users", 'C:\\"quoted"']);
});

Deno.test("a list variable holding more than one TOML value is refused, not cut short", () => {
  assertEquals(issuesOf(MINIMAL_TOML, { [GROUPS]: '["/vpn-admins"]\nallowed_roles = ["x"]' }), [{
    path: "authorization.allowed_groups",
    message: `Environment variable ${GROUPS} is not a TOML array, e.g. ["a", "b"]`,
  }]);
});

Deno.test("a scope holding whitespace in the file is refused at its item and line", () => {
  const source = MINIMAL_TOML.replace(
    'client_id = "openvpn"',
    'client_id = "openvpn"\nscopes = ["openid", "profile email"]',
  );
  const line = source.split("\n").findIndex((text) => text.startsWith("scopes")) + 1;
  assertEquals(issuesOf(source), [{
    path: "oidc.scopes[1]",
    message: "Holds whitespace, but scopes are sent space-separated: write each as its own " +
      'item, "profile", "email"',
    line,
  }]);
});

Deno.test("a TOML array after leading whitespace is still an array, not one bare item", () => {
  const groups = load(MINIMAL_TOML, { [GROUPS]: ' ["/vpn-users", "/staff/vpn-admins"]' });
  assertEquals(groups.config.authorization.allowedGroups, ["/vpn-users", "/staff/vpn-admins"]);
  // Taken bare, bypass_common_names would get one pattern: a character class that lets some
  // two-character common names skip sign-in, and that matches neither gateway.
  const bypass = load(MINIMAL_TOML, {
    OPENVPN_AUTH_OIDC_OPENVPN_BYPASS_COMMON_NAMES: ' ["gw1", "gw2"]',
  });
  const patterns = bypass.config.servers[0]!.bypassCommonNames;
  assertEquals(patterns.length, 2);
  assert(patterns[0]!.test("gw1") && patterns[1]!.test("gw2"));
  assert(!patterns.some((pattern) => pattern.test(" g")));
});
