/**
 * What a session keeps of the IdP's claims must judge the user as the whole claims did: with
 * the default `reauth_check = "none"` every REAUTH judges the kept claims alone.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  claimPathsAdded,
  clientConfigHint,
  judge,
  policyClaims,
  type PolicyConfig,
} from "../../../src/bridge/identity_policy.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";

const NAMESPACED: PolicyConfig = {
  ...TEST_POLICY,
  oidc: {
    usernameClaim: "https://example.com/claims.username",
    groupsClaim: "https://example.com/claims.groups",
    rolesClaim: "resource_access.vpn.example.com.roles",
  },
  authorization: {
    ...TEST_POLICY.authorization,
    allowedRoles: ["vpn-user"],
    requiredClaims: { "https://example.com/verified": true },
  },
};

const CLAIMS = {
  sub: "u-1",
  "https://example.com/claims": { username: "alice", groups: ["/vpn-users"] },
  "https://example.com/verified": true,
  resource_access: { "vpn.example.com": { roles: ["vpn-user"] } },
  email: "alice@example.com",
  "https://example": { unrelated: true },
};

Deno.test("claims kept in a session judge the user as the IdP's claims did, dotted claim names included", () => {
  const atSignIn = judge(CLAIMS, "alice", NAMESPACED);
  assert(atSignIn.allow, JSON.stringify(atSignIn));
  const kept = policyClaims(CLAIMS, NAMESPACED);
  // Each top-level claim the lookup may pass through is kept (so the answer cannot change),
  // the others are not.
  assertEquals(Object.keys(kept).sort(), [
    "https://example",
    "https://example.com/claims",
    "https://example.com/verified",
    "resource_access",
    "sub",
  ]);
  const atReauth = judge(kept, "alice", NAMESPACED, false);
  assert(atReauth.allow, JSON.stringify(atReauth));
  assertEquals(atReauth.identity, atSignIn.identity);
});

Deno.test("a claim named __proto__ is kept as a claim, not as the kept object's prototype", () => {
  const claims = JSON.parse('{"sub":"u-1","__proto__":{"groups":["/vpn-users"]}}');
  const kept = policyClaims(claims, { ...TEST_POLICY, alsoKeep: ["__proto__.groups"] });
  assert(Object.hasOwn(kept, "__proto__"));
  assertEquals(Object.getPrototypeOf(kept), Object.prototype);
  assertEquals((kept as Record<string, unknown>)["groups"], undefined);
});

Deno.test("claimPathsAdded() names the claims a changed policy reads that sessions signed in before did not keep", () => {
  const stricter: PolicyConfig = {
    ...TEST_POLICY,
    authorization: { ...TEST_POLICY.authorization, requiredClaims: { email_verified: true } },
  };
  assertEquals(claimPathsAdded([TEST_POLICY], [stricter]), ["email_verified"]);
  assertEquals(claimPathsAdded([stricter], [TEST_POLICY]), []);
  assertEquals(claimPathsAdded([TEST_POLICY], [TEST_POLICY]), []);
  // Read by another server's policy already: sessions kept it (alsoKeep).
  assertEquals(claimPathsAdded([TEST_POLICY, stricter], [stricter, stricter]), []);
});

const BY_CLIENT_ROLE: PolicyConfig = {
  ...TEST_POLICY,
  oidc: { ...TEST_POLICY.oidc, rolesClaim: "resource_access.openvpn.roles" },
  authorization: { ...TEST_POLICY.authorization, allowedGroups: [], allowedRoles: ["vpn-user"] },
};

/** The hint of a denial, "" when it has none. */
function deniedHint(claims: Record<string, unknown>, config: PolicyConfig): string {
  const verdict = judge(claims, "alice", config);
  assert(!verdict.allow, JSON.stringify(verdict));
  return verdict.denial.hint ?? "";
}

Deno.test("a user without roles of the client (resource_access present, the client's entry left out, as Keycloak does) gets no mapper hint", () => {
  const hint = deniedHint({
    sub: "u-1",
    preferred_username: "alice",
    resource_access: { account: { roles: ["manage-account"] } },
  }, BY_CLIENT_ROLE);
  assert(hint.includes('no roles of client "openvpn"'), hint);
  assert(!/likely fix|Add to|missing from the token/.test(hint), hint);
  assert(!hint.includes("manage-account") && !hint.includes("account"), hint);
  // The same with a client id that has dots, and for any other path whose first part arrived.
  const dotted = deniedHint({ sub: "u-1", preferred_username: "alice", resource_access: {} }, {
    ...BY_CLIENT_ROLE,
    oidc: { ...BY_CLIENT_ROLE.oidc, rolesClaim: "resource_access.vpn.example.com.roles" },
  });
  assert(dotted.includes('no roles of client "vpn.example.com"'), dotted);
  const nested = deniedHint({ sub: "u-1", preferred_username: "alice", org: { name: "x" } }, {
    ...TEST_POLICY,
    oidc: { ...TEST_POLICY.oidc, groupsClaim: "org.groups" },
  });
  assert(nested !== "" && !/likely fix|Add to|missing from the token/.test(nested), nested);
  assert(nested.includes('"org.groups"') && nested.includes('"org"'), nested);
});

Deno.test("a roles claim absent from the token entirely gets the mapper hint, with the claim names present only", () => {
  const hint = deniedHint(
    { sub: "u-1", preferred_username: "alice", email: "secret@example.com" },
    BY_CLIENT_ROLE,
  );
  assert(hint.includes('the roles claim "resource_access.openvpn.roles" is missing'), hint);
  assert(hint.includes('(claims present: "sub", "preferred_username", "email")'), hint);
  assert(hint.includes('"Add to ID token"') && hint.includes("roles mapper"), hint);
  assert(!hint.includes("secret@example.com"), hint);
  // Present and lacking the role: no hint at all.
  const lacking = judge(
    { sub: "u-1", preferred_username: "alice", resource_access: { openvpn: { roles: ["x"] } } },
    "alice",
    BY_CLIENT_ROLE,
  );
  assert(!lacking.allow && lacking.denial.hint === undefined, JSON.stringify(lacking));
});

Deno.test("a groups claim absent entirely: the hint allows for a user in no group (Keycloak leaves the claim out) and names the mapper fix", () => {
  const hint = deniedHint({ sub: "u-1", preferred_username: "alice" }, TEST_POLICY);
  assert(hint.includes('the groups claim "groups" is missing'), hint);
  assert(hint.includes("user in no group"), hint);
  assert(hint.includes("if every user is denied this way"), hint);
  assert(hint.includes("group membership mapper"), hint);
});

Deno.test("a groups claim sent as a distributed claim (Entra ID's group overage) is named as such, without the source's address", () => {
  // An Entra ID token of a user in more than 200 groups: no `groups`, and OpenID Connect's
  // distributed-claim members pointing at Microsoft Graph.
  const overage = {
    sub: "u-1",
    preferred_username: "alice",
    _claim_names: { groups: "src1" },
    _claim_sources: {
      src1: { endpoint: "https://graph.example/v1.0/users/secret-id/getMemberObjects" },
    },
  };
  const hint = deniedHint(overage, TEST_POLICY);
  assert(hint.includes('the groups claim "groups" is a distributed claim'), hint);
  assert(hint.includes("Entra ID") && hint.includes("group overage"), hint);
  assert(!/secret-id|graph\.example|src1|likely fix|missing from the token/.test(hint), hint);
  // Still denied: a claim the bridge does not fetch is no claim. Admitted without a group rule,
  // the user gets no lines of group rules either.
  assertEquals(judge(overage, "alice", TEST_POLICY).allow, false);
  const byLines: PolicyConfig = {
    ...TEST_POLICY,
    authorization: { ...TEST_POLICY.authorization, allowedGroups: [] },
    clientConfig: [{ groups: ["/vpn-users"], lines: ['push "route 10.1.0.0 255.255.0.0"'] }],
  };
  assertEquals(judge(overage, "alice", byLines), {
    allow: true,
    identity: { subject: "u-1", username: "alice", groups: [], roles: [] },
    lines: [],
  });
  const inGroup = judge({ ...overage, groups: ["/vpn-users"] }, "alice", byLines);
  assert(inGroup.allow && inGroup.lines.length === 1, JSON.stringify(inGroup));
  // A dotted path under a distributed claim names the part _claim_names lists.
  const nested = deniedHint(
    { sub: "u-1", preferred_username: "alice", _claim_names: { org: "s" } },
    {
      ...TEST_POLICY,
      oidc: { ...TEST_POLICY.oidc, groupsClaim: "org.groups" },
    },
  );
  assert(
    nested.includes('"org.groups" is a distributed claim (named in _claim_names as "org"'),
    nested,
  );
  // Other distributed claims, or a _claim_names that is no object, change nothing.
  for (const names of [{ address: "s" }, ["groups"], "groups", null]) {
    const other = deniedHint(
      { sub: "u-1", preferred_username: "alice", _claim_names: names },
      TEST_POLICY,
    );
    assert(other.includes('the groups claim "groups" is missing from the token'), other);
  }
  // Roles: the same, without the Entra group advice.
  const roles = deniedHint(
    { sub: "u-1", preferred_username: "alice", _claim_names: { resource_access: "s" } },
    BY_CLIENT_ROLE,
  );
  assert(
    roles.includes('the roles claim "resource_access.openvpn.roles" is a distributed claim'),
    roles,
  );
  assert(!roles.includes("Entra"), roles);
});

Deno.test("clientConfigHint: a [[client_config]] rule's group the token has only in another form, or groups sent as a distributed claim, is named; a rule the user is simply not in is not", () => {
  const rules: PolicyConfig = {
    ...TEST_POLICY,
    clientConfig: [
      { groups: ["/vpn-users"], lines: ["ifconfig-push 10.8.0.10 255.255.255.0"] },
      { groups: ["vpn-admins"], lines: ['push "route 10.9.0.0 255.255.0.0"'] },
    ],
  };
  const hint = (groups: string[]) => clientConfigHint({ sub: "u-1", groups }, groups, rules);
  // Every rule applies, or none looks meant for the user: nothing to say.
  assertEquals(hint(["/vpn-users", "/vpn-admins"]), undefined);
  assertEquals(hint(["/other", "/staff/ops"]), undefined);
  assertEquals(clientConfigHint({ sub: "u-1" }, [], rules), undefined);
  assertEquals(
    clientConfigHint({ sub: "u-1", groups: ["vpn-users"] }, ["vpn-users"], TEST_POLICY),
    undefined,
  );
  // Keycloak's "Full group path" off: the first rule's group arrives without its slash.
  assertEquals(
    hint(["vpn-users", "/vpn-admins"]),
    'groups claim has "vpn-users"; a [[client_config]] rule has "/vpn-users", which matches only that full path (Keycloak\'s "Full group path" off in the group mapper?)',
  );
  // A nested group written by its last name in the second rule.
  const nested = hint(["/vpn-users", "/staff/vpn-admins"]);
  assert(
    nested?.startsWith(
      'groups claim has ".../vpn-admins"; a [[client_config]] rule has "vpn-admins"',
    ),
    nested,
  );
  assert(!nested?.includes("staff"), nested);
  // Entra ID's group overage: no groups at all, and the reason named.
  const overage = clientConfigHint({ sub: "u-1", _claim_names: { groups: "src1" } }, [], rules);
  assert(overage?.includes('the groups claim "groups" is a distributed claim'), overage);
});
