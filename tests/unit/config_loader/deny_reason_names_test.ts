/**
 * Config load (check-config, start and reload all go through parseConfig) refuses a required
 * claim name or claim path a deny reason could not carry to OpenVPN: the client denied by it
 * would get no answer and wait for OpenVPN's timeout.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import {
  configIssuesOf,
  HTTP_OIDC_TOML,
  MINIMAL_TOML,
  parseTestConfig,
} from "../../support/config_toml.ts";
import { authorize } from "../../../src/policy/authorize.ts";
import { clientDeny, clientHalt } from "../../../src/management/commands.ts";

const LONG = "a".repeat(196);
/** The longest whose reason a sign-in's HALT still carries (`client-kill "HALT,<reason>"`). */
const LONGEST = "a".repeat(195);

/** The one issue refusing `source`, at `path`. */
function onlyIssue(source: string, path: string): string {
  const issues = configIssuesOf(source);
  assertEquals(issues.map((issue) => issue.path), [path], JSON.stringify(issues));
  return issues[0]!.message;
}

Deno.test("a required claim name too long for its deny reason is refused, naming the table, the name and the limit", () => {
  const message = onlyIssue(
    `${MINIMAL_TOML}\n[authorization.required_claims]\n${LONG} = true\n`,
    "authorization.required_claims",
  );
  assertEquals(
    message,
    `Required claim name "${"a".repeat(40)}..." (196 characters) cannot be sent in the deny ` +
      'reason naming it ("Your account does not have the required ..." (248 characters)): ' +
      "Invalid halt reason: 257 bytes quoted, OpenVPN allows 256 per parameter",
  );
});

Deno.test("a required claim name with a line feed is refused, shown escaped", () => {
  const message = onlyIssue(
    `${MINIMAL_TOML}\n[authorization.required_claims]\n"a\\nb" = true\n`,
    "authorization.required_claims",
  );
  assertStringIncludes(message, 'Required claim name "a\\nb" cannot be sent in the deny reason');
  assertStringIncludes(message, "control characters (CR, LF, NUL, ...) are not allowed");
  assertEquals(message.includes("\n"), false);
});

Deno.test("a server's own policy is checked too", () => {
  const source = `
[[openvpn]]
name = "udp"
management = "unix:///run/openvpn/udp.sock"

[[openvpn]]
name = "tcp"
management = "unix:///run/openvpn/tcp.sock"

[openvpn.authorization.required_claims]
${LONG} = true

${HTTP_OIDC_TOML}`;
  const message = onlyIssue(source, "openvpn[1].authorization.required_claims");
  assertStringIncludes(message, "OpenVPN allows 256 per parameter");
});

Deno.test("a 195-character required claim name loads, and its denial is built by clientDeny and clientHalt", () => {
  const { config } = parseTestConfig(
    `${MINIMAL_TOML}\n[authorization.required_claims]\n${LONGEST} = true\n`,
  );
  assertEquals(Object.keys(config.authorization.requiredClaims), [LONGEST]);
  const identity = { username: "alice", subject: "sub-1", groups: [], roles: [] };
  const decision = authorize(identity, {}, "cn", config.authorization);
  assert(!decision.allow);
  assertStringIncludes(decision.reason, LONGEST);
  assertEquals(clientDeny(3, 0, decision.code, decision.reason).name, "client-deny");
  assertEquals(clientHalt(3, decision.reason).name, "client-kill");
});

Deno.test("claim paths too long for the deny reasons naming them, or with a line feed, are refused", () => {
  const source = MINIMAL_TOML.replace(
    'client_id = "openvpn"',
    `client_id = "openvpn"\nusername_claim = "${"u".repeat(300)}"\ngroups_claim = "a\\nb"\n` +
      `roles_claim = "realm_access.roles"`,
  );
  const issues = configIssuesOf(source);
  assertEquals(issues.map((issue) => issue.path), ["oidc.username_claim", "oidc.groups_claim"]);
  assertStringIncludes(issues[0]!.message, `Claim path "${"u".repeat(40)}..." (300 characters)`);
  assertStringIncludes(issues[0]!.message, "OpenVPN allows 256 per parameter");
  assertStringIncludes(issues[1]!.message, 'Claim path "a\\nb" cannot be sent');
});
