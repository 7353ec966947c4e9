import { assertEquals } from "../../support/assert.ts";
import {
  type AuthorizationPolicy,
  authorize,
  claimMatches,
  validateRequiredClaim,
} from "../../../src/policy/authorize.ts";
import type { Identity } from "../../../src/policy/identity.ts";

const NO_RULES: AuthorizationPolicy = {
  allowedGroups: [],
  allowedRoles: [],
  requiredClaims: {},
  commonNameClaim: undefined,
};

const ALICE: Identity = {
  username: "alice",
  subject: "sub-1",
  groups: ["/vpn-users", "/staff/vpn-admins"],
  roles: ["vpn"],
};

const CLAIMS = {
  sub: "sub-1",
  preferred_username: "alice",
  email_verified: true,
  department: "it",
  amr: ["pwd", "otp"],
  level: 3,
  attributes: { vpn_cn: "alice-laptop" },
};

function policy(rules: Partial<AuthorizationPolicy>): AuthorizationPolicy {
  return { ...NO_RULES, ...rules };
}

Deno.test("authorize() allows any authenticated user when no rule is configured", () => {
  assertEquals(authorize(ALICE, CLAIMS, "alice-laptop", NO_RULES), { allow: true });
  assertEquals(authorize({ ...ALICE, groups: [], roles: [] }, {}, "", NO_RULES), {
    allow: true,
  });
});

Deno.test("authorize() checks allowed groups with the full-path rule", () => {
  assertEquals(
    authorize(ALICE, CLAIMS, "cn", policy({ allowedGroups: ["vpn-users"] })).allow,
    true,
  );
  assertEquals(
    authorize(ALICE, CLAIMS, "cn", policy({ allowedGroups: ["/staff/vpn-admins"] })).allow,
    true,
  );
  assertEquals(
    authorize(ALICE, CLAIMS, "cn", policy({ allowedGroups: ["vpn-admins"] })),
    { allow: false, code: "group", reason: "You are not in a group allowed to use this VPN" },
  );
  const outsider = { ...ALICE, groups: ["/other/vpn-admins"] };
  assertEquals(
    authorize(outsider, CLAIMS, "cn", policy({ allowedGroups: ["vpn-admins"] })).allow,
    false,
  );
});

Deno.test("authorize() checks allowed roles exactly", () => {
  assertEquals(authorize(ALICE, CLAIMS, "cn", policy({ allowedRoles: ["x", "vpn"] })).allow, true);
  assertEquals(
    authorize(ALICE, CLAIMS, "cn", policy({ allowedRoles: ["VPN"] })),
    { allow: false, code: "role", reason: "You do not have a role allowed to use this VPN" },
  );
});

Deno.test('authorize(): email_verified = [true, "true"] admits a boolean or a string true (Cognito\'s userinfo), never false in either form', () => {
  const requiredClaims = { email_verified: [true, "true"] };
  for (
    const [emailVerified, allow] of [[true, true], ["true", true], [false, false], ["false", false]]
  ) {
    const claims = { ...CLAIMS, email_verified: emailVerified };
    assertEquals(
      authorize(ALICE, claims, "cn", policy({ requiredClaims })).allow,
      allow,
      JSON.stringify(emailVerified),
    );
  }
  assertEquals(
    authorize(ALICE, { sub: "u-1" }, "cn", policy({ requiredClaims })).allow,
    false,
    "missing",
  );
});

Deno.test("authorize() requires every required claim, strictly typed", () => {
  const cases: Array<[Record<string, unknown>, boolean]> = [
    [{ email_verified: true }, true],
    [{ email_verified: "true" }, false],
    [{ department: "it" }, true],
    [{ department: "IT" }, false],
    [{ department: ["hr", "it"] }, true],
    [{ department: ["hr", "ops"] }, false],
    [{ amr: "otp" }, true],
    [{ amr: ["hwk", "otp"] }, true],
    [{ amr: "hwk" }, false],
    [{ level: 3 }, true],
    [{ level: "3" }, false],
    [{ "attributes.vpn_cn": "alice-laptop" }, true],
    [{ missing: "x" }, false],
    [{ email_verified: true, department: "it", level: 3 }, true],
    [{ email_verified: true, department: "ops" }, false],
    [{ department: { nested: "it" } }, false],
    [{ department: null }, false],
    [{ department: [] }, false],
  ];
  for (const [requiredClaims, allow] of cases) {
    assertEquals(
      authorize(ALICE, CLAIMS, "cn", policy({ requiredClaims })).allow,
      allow,
      JSON.stringify(requiredClaims),
    );
  }
});

Deno.test("authorize() explains a failed claim without echoing its value", () => {
  const unverified = { ...CLAIMS, email_verified: false };
  assertEquals(
    authorize(ALICE, unverified, "cn", policy({ requiredClaims: { email_verified: true } })),
    { allow: false, code: "claim", reason: "Your account's email address is not verified" },
  );
  const hostile = { ...CLAIMS, department: "<script>alert(1)</script>".repeat(100) };
  const decision = authorize(
    ALICE,
    hostile,
    "cn",
    policy({ requiredClaims: { department: "it" } }),
  );
  assertEquals(decision, {
    allow: false,
    code: "claim",
    reason: 'Your account does not have the required attribute "department"',
  });
});

Deno.test("authorize() binds the certificate common name to a claim", () => {
  const bound = policy({ commonNameClaim: "attributes.vpn_cn" });
  assertEquals(authorize(ALICE, CLAIMS, "alice-laptop", bound), { allow: true });
  const denied = {
    allow: false,
    code: "common_name",
    reason: "This VPN certificate does not belong to your account",
  };
  assertEquals(authorize(ALICE, CLAIMS, "bob-laptop", bound), denied);
  assertEquals(authorize(ALICE, CLAIMS, "Alice-Laptop", bound), denied);
  assertEquals(authorize(ALICE, CLAIMS, "alice-laptop ", bound), denied);
  assertEquals(authorize(ALICE, {}, "alice-laptop", bound), denied);
  assertEquals(authorize(ALICE, { attributes: { vpn_cn: "" } }, "", bound), denied);
  assertEquals(
    authorize(ALICE, { attributes: { vpn_cn: ["alice-laptop"] } }, "alice-laptop", bound),
    denied,
  );
});

Deno.test("authorize() needs every configured rule and reports the first failure", () => {
  const all = policy({
    allowedGroups: ["vpn-users"],
    allowedRoles: ["vpn"],
    requiredClaims: { email_verified: true },
    commonNameClaim: "attributes.vpn_cn",
  });
  assertEquals(authorize(ALICE, CLAIMS, "alice-laptop", all), { allow: true });
  assertEquals(authorize({ ...ALICE, groups: [], roles: [] }, CLAIMS, "x", all).allow, false);
  const noGroupNoRole = authorize({ ...ALICE, groups: [], roles: [] }, CLAIMS, "x", all);
  assertEquals(noGroupNoRole.allow === false && noGroupNoRole.code, "group");
  const noRole = authorize({ ...ALICE, roles: [] }, CLAIMS, "alice-laptop", all);
  assertEquals(noRole.allow === false && noRole.code, "role");
  const wrongCn = authorize(ALICE, CLAIMS, "other", all);
  assertEquals(wrongCn.allow === false && wrongCn.code, "common_name");
  const unverified = authorize(ALICE, { ...CLAIMS, email_verified: false }, "other", all);
  assertEquals(unverified.allow === false && unverified.code, "claim");
});

Deno.test("claimMatches() never matches unsupported config values", () => {
  assertEquals(claimMatches({ a: 1 }, { a: 1 }), false);
  assertEquals(claimMatches(null, null), false);
  assertEquals(claimMatches(Number.NaN, Number.NaN), false);
  assertEquals(claimMatches(undefined, undefined), false);
  assertEquals(claimMatches("x", ["x", { y: 1 }]), false);
});

Deno.test("validateRequiredClaim() accepts scalars and lists, refuses the rest", () => {
  for (const ok of ["x", 1, true, false, ["a", 2, true]]) {
    assertEquals(validateRequiredClaim("c", ok), undefined, JSON.stringify(ok));
  }
  for (const bad of [null, {}, [], [{}], [null], Number.POSITIVE_INFINITY, new Date(0)]) {
    assertEquals(typeof validateRequiredClaim("c", bad), "string", String(bad));
  }
  assertEquals(typeof validateRequiredClaim("", "x"), "string");
});
