/**
 * Who is allowed is decided by exact comparison: a role or group that differs in case, or only
 * starts with an allowed one, is someone else's and must not admit.
 */
import { assertEquals } from "../../support/assert.ts";
import { type AuthorizationPolicy, authorize } from "../../../src/policy/authorize.ts";
import { groupMatches } from "../../../src/policy/groups.ts";
import type { Identity } from "../../../src/policy/identity.ts";

const NO_RULES: AuthorizationPolicy = {
  allowedGroups: [],
  allowedRoles: [],
  requiredClaims: {},
  commonNameClaim: undefined,
};

function user(groups: string[], roles: string[]): Identity {
  return { username: "alice", subject: "sub-1", groups, roles };
}

Deno.test("authorize() refuses a role that only starts with an allowed role", () => {
  const policy = { ...NO_RULES, allowedRoles: ["vpn"] };
  for (const role of ["vpn-guest", "vpn_readonly", "vpnx"]) {
    assertEquals(authorize(user([], [role]), {}, "alice", policy).allow, false, role);
  }
  assertEquals(authorize(user([], ["vpn"]), {}, "alice", policy), { allow: true });
});

Deno.test("groupMatches() and authorize() compare group names case-sensitively", () => {
  assertEquals(groupMatches("vpn-users", "VPN-Users"), false);
  assertEquals(groupMatches("vpn-users", "/VPN-USERS"), false);
  assertEquals(groupMatches("/Staff/vpn", "/staff/vpn"), false);
  const policy = { ...NO_RULES, allowedGroups: ["vpn-users"] };
  const decision = authorize(user(["/VPN-Users"], []), {}, "alice", policy);
  assertEquals(decision.allow, false);
});

Deno.test("groupMatches(): a configured full path never gains a second leading slash", () => {
  assertEquals(groupMatches("/vpn-users", "//vpn-users"), false);
  assertEquals(groupMatches("vpn-users", "//vpn-users"), false);
});
