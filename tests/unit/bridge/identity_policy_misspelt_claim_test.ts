/**
 * A misspelt roles_claim must not be blamed on the user: Keycloak leaves an empty realm_access
 * out entirely, so `realm_access` arriving without the configured last part points at the path.
 * The hint lists the key names that did arrive (names only, bounded) and names the key to fix.
 */
import { assert } from "../../support/assert.ts";
import { judge, type PolicyConfig } from "../../../src/bridge/identity_policy.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";

function policy(rolesClaim: string): PolicyConfig {
  return {
    ...TEST_POLICY,
    oidc: { ...TEST_POLICY.oidc, rolesClaim },
    authorization: { ...TEST_POLICY.authorization, allowedGroups: [], allowedRoles: ["vpn-user"] },
  };
}

function deniedHint(claims: Record<string, unknown>, config: PolicyConfig): string {
  const verdict = judge(claims, "alice", config);
  assert(!verdict.allow, JSON.stringify(verdict));
  return verdict.denial.hint ?? "";
}

Deno.test('judge() with roles_claim = "realm_access.role" lists the keys realm_access has and points at oidc.roles_claim, not at the user', () => {
  const hint = deniedHint({
    sub: "u-1",
    preferred_username: "alice",
    realm_access: { roles: ["vpn-user", "secret-project-x"] },
  }, policy("realm_access.role"));
  assert(hint.includes('"realm_access.role" is absent though "realm_access" arrived'), hint);
  assert(hint.includes('(its keys: "roles")'), hint);
  assert(hint.includes("check oidc.roles_claim"), hint);
  assert(hint.includes("realm_access.roles"), hint);
  // Before: "the user has no roles (the mapper works)", the user blamed for the admin's typo.
  assert(!hint.includes("the mapper works"), hint);
  // Names only: the user's roles are user data.
  assert(!hint.includes("vpn-user") && !hint.includes("secret-project-x"), hint);
});

Deno.test("judge(): the keys listed are bounded and made printable", () => {
  const names = ["bad\u001b[2Jkey", ...Array.from({ length: 45 }, (_, i) => `key${i}`)];
  const many = Object.fromEntries(names.map((name) => [name, true]));
  const hint = deniedHint(
    { sub: "u-1", preferred_username: "alice", realm_access: many },
    policy("realm_access.roles"),
  );
  assert(hint.includes('"bad[2Jkey", "key0", "key1"') && hint.includes('"key38"'), hint);
  assert(!hint.includes("key39") && hint.includes("and 6 more"), hint);
  assert(!hasTerminalControl(hint), hint);
  // A parent that is no object says so.
  const flat = deniedHint(
    { sub: "u-1", preferred_username: "alice", realm_access: ["vpn-user"] },
    policy("realm_access.roles"),
  );
  assert(flat.includes("(not as an object but as a list)") && !flat.includes("vpn-user"), flat);
});

Deno.test("judge(): a resource_access.<client>.roles path whose client is absent says the client id may be wrong, without the other clients' ids", () => {
  const hint = deniedHint({
    sub: "u-1",
    preferred_username: "alice",
    resource_access: { "vpn-bridge": { roles: ["vpn-user"] }, payroll: { roles: ["x"] } },
  }, policy("resource_access.vpn-brige.roles"));
  assert(hint.includes('no roles of client "vpn-brige"'), hint);
  assert(hint.includes("the client id in oidc.roles_claim is wrong"), hint);
  assert(!hint.includes("payroll") && !hint.includes("vpn-user"), hint);
});

/** Whether `text` holds a C0 control, DEL or a C1 control (what a terminal acts on). */
function hasTerminalControl(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || (c >= "\u007f" && c <= "\u009f"));
}
