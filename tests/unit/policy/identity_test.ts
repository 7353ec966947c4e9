import { assertEquals, assertThrows } from "../../support/assert.ts";
import { claimAt, ClaimError, claimStrings } from "../../../src/policy/claims.ts";
import { extractIdentity } from "../../../src/policy/identity.ts";

/** An ID token claim set shaped like Keycloak's, with groups and realm/client roles mapped. */
const KEYCLOAK = {
  sub: "f3c1d2e4-0000-4000-8000-000000000001",
  preferred_username: "alice",
  email: "alice@example.com",
  email_verified: true,
  groups: ["/vpn-users", "/staff/vpn-admins"],
  realm_access: { roles: ["offline_access", "vpn"] },
  resource_access: {
    openvpn: { roles: ["connect"] },
    "vpn.example.com": { roles: ["dotted-client-role"] },
  },
};

Deno.test("claimAt() walks dotted paths through nested objects", () => {
  assertEquals(claimAt(KEYCLOAK, "realm_access.roles"), ["offline_access", "vpn"]);
  assertEquals(claimAt(KEYCLOAK, "resource_access.openvpn.roles"), ["connect"]);
  assertEquals(claimAt(KEYCLOAK, "resource_access.vpn.example.com.roles"), [
    "dotted-client-role",
  ]);
  assertEquals(claimAt(KEYCLOAK, "realm_access.missing"), undefined);
  assertEquals(claimAt(KEYCLOAK, "email.length"), undefined);
  assertEquals(claimAt(KEYCLOAK, ""), undefined);
});

Deno.test("claimAt() prefers a literal key containing dots over walking", () => {
  const claims = { "a.b": "literal", a: { b: "nested" } };
  assertEquals(claimAt(claims, "a.b"), "literal");
  assertEquals(claimAt({ a: { b: "nested" } }, "a.b"), "nested");
});

Deno.test("claimAt() never reads inherited properties", () => {
  assertEquals(claimAt({}, "constructor"), undefined);
  assertEquals(claimAt({}, "__proto__"), undefined);
  assertEquals(claimAt({ a: {} }, "a.toString"), undefined);
  assertEquals(claimAt({ a: ["x"] }, "a.length"), undefined);
});

Deno.test("claimStrings() normalizes strings, arrays and missing claims", () => {
  const cases: Array<[unknown, string[]]> = [
    ["/vpn-users", ["/vpn-users"]],
    [["a", "b"], ["a", "b"]],
    [[], []],
    [undefined, []],
    [null, []],
  ];
  for (const [value, expected] of cases) {
    const claims = value === undefined ? {} : { groups: value };
    assertEquals(claimStrings(claims, "groups"), expected, JSON.stringify(value));
  }
});

Deno.test("claimStrings() rejects wrong types without echoing the value", () => {
  const cases: unknown[] = [42, true, { a: 1 }, ["ok", 7], [null]];
  for (const value of cases) {
    const error = assertThrows(
      () => claimStrings({ groups: value }, "groups"),
      ClaimError,
      'Claim has the wrong type: "groups"',
    );
    assertEquals(error.code, "invalid_claim");
    assertEquals(error.claim, "groups");
  }
  const hostile = assertThrows(() => claimStrings({ groups: { evil: "<script>" } }, "groups"));
  assertEquals(hostile.message.includes("<script>"), false);
});

Deno.test("extractIdentity() reads a Keycloak ID token with realm roles", () => {
  const identity = extractIdentity(KEYCLOAK, {
    usernameClaim: "preferred_username",
    groupsClaim: "groups",
    rolesClaim: "realm_access.roles",
  });
  assertEquals(identity, {
    username: "alice",
    subject: "f3c1d2e4-0000-4000-8000-000000000001",
    groups: ["/vpn-users", "/staff/vpn-admins"],
    roles: ["offline_access", "vpn"],
  });
});

Deno.test("extractIdentity() reads client roles and a string groups claim", () => {
  const identity = extractIdentity({ ...KEYCLOAK, groups: "vpn-users" }, {
    usernameClaim: "email",
    groupsClaim: "groups",
    rolesClaim: "resource_access.openvpn.roles",
  });
  assertEquals(identity.username, "alice@example.com");
  assertEquals(identity.groups, ["vpn-users"]);
  assertEquals(identity.roles, ["connect"]);
});

Deno.test("extractIdentity() gives empty groups and roles when the claims are absent", () => {
  const identity = extractIdentity({ sub: "s", preferred_username: "bob" }, {
    usernameClaim: "preferred_username",
    groupsClaim: "groups",
    rolesClaim: "realm_access.roles",
  });
  assertEquals(identity.groups, []);
  assertEquals(identity.roles, []);
  const noRolesClaim = extractIdentity(KEYCLOAK, {
    usernameClaim: "preferred_username",
    groupsClaim: "groups",
  });
  assertEquals(noRolesClaim.roles, []);
});

Deno.test("extractIdentity() refuses missing, empty, blank or mistyped usernames and subjects", () => {
  const opts = { usernameClaim: "preferred_username", groupsClaim: "groups" };
  const cases: Array<[Record<string, unknown>, "missing_claim" | "invalid_claim", string]> = [
    [{ sub: "s" }, "missing_claim", "preferred_username"],
    [{ sub: "s", preferred_username: "" }, "missing_claim", "preferred_username"],
    [{ sub: "s", preferred_username: null }, "missing_claim", "preferred_username"],
    [{ sub: "s", preferred_username: "  " }, "missing_claim", "preferred_username"],
    [{ sub: "\u3000", preferred_username: "alice" }, "missing_claim", "sub"],
    [{ sub: "s", preferred_username: 12 }, "invalid_claim", "preferred_username"],
    [{ sub: "s", preferred_username: ["alice"] }, "invalid_claim", "preferred_username"],
    [{ sub: "s", preferred_username: "alice\r\nadmin" }, "invalid_claim", "preferred_username"],
    [{ preferred_username: "alice" }, "missing_claim", "sub"],
    [{ sub: 5, preferred_username: "alice" }, "invalid_claim", "sub"],
  ];
  for (const [claims, code, claim] of cases) {
    const error = assertThrows(() => extractIdentity(claims, opts), ClaimError);
    assertEquals([error.code, error.claim], [code, claim], JSON.stringify(claims));
  }
});

Deno.test("extractIdentity() refuses a groups claim of the wrong type", () => {
  const error = assertThrows(
    () =>
      extractIdentity({ sub: "s", preferred_username: "a", groups: [1, 2] }, {
        usernameClaim: "preferred_username",
        groupsClaim: "groups",
      }),
    ClaimError,
  );
  assertEquals(error.claim, "groups");
});
