import assert from "node:assert/strict";
import { claimAt, ClaimTypeError, stringList } from "../../../src/oidc/claims.ts";

const keycloakClaims: Record<string, unknown> = {
  sub: "user-1",
  preferred_username: "alice",
  groups: ["/vpn-users", "/staff/vpn-admins"],
  realm_access: { roles: ["vpn-user", "offline_access"] },
  resource_access: {
    "vpn-bridge": { roles: ["vpn-admin"] },
    "vpn.example.org": { roles: ["dotted-client-role"] },
  },
  "https://example.com/claims/team": "blue",
  "a.b": "literal key",
  a: { b: "nested key" },
  empty: null,
};

const claimAtCases: Array<[string, unknown]> = [
  ["preferred_username", "alice"],
  ["groups", ["/vpn-users", "/staff/vpn-admins"]],
  ["realm_access.roles", ["vpn-user", "offline_access"]],
  ["resource_access.vpn-bridge.roles", ["vpn-admin"]],
  ["resource_access.vpn.example.org.roles", ["dotted-client-role"]],
  ["https://example.com/claims/team", "blue"],
  ["a.b", "literal key"],
  ["realm_access", { roles: ["vpn-user", "offline_access"] }],
  ["realm_access.missing", undefined],
  ["missing", undefined],
  ["missing.deeper", undefined],
  ["groups.0", undefined],
  ["preferred_username.length", undefined],
  ["empty", null],
  ["empty.deeper", undefined],
  ["toString", undefined],
  ["realm_access.constructor", undefined],
  ["__proto__", undefined],
  ["", undefined],
];

for (const [path, expected] of claimAtCases) {
  Deno.test(`claimAt() resolves ${JSON.stringify(path)} to ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(claimAt(keycloakClaims, path), expected);
  });
}

const stringListCases: Array<[string, unknown, string[]]> = [
  ["a string to a one-element list", "/vpn-users", ["/vpn-users"]],
  ["an array of strings unchanged", ["a", "b"], ["a", "b"]],
  ["an empty array to []", [], []],
  ["undefined (absent claim) to []", undefined, []],
  ["null to []", null, []],
  ["an empty string to ['']", "", [""]],
];

for (const [what, value, expected] of stringListCases) {
  Deno.test(`stringList() turns ${what}`, () => {
    assert.deepEqual(stringList(value), expected);
  });
}

const rejectedCases: Array<[string, unknown]> = [
  ["a number", 42],
  ["a boolean", true],
  ["an object", { roles: ["x"] }],
  ["an array with a number", ["a", 1]],
  ["an array with an object", [{ name: "a" }]],
  ["an array with null", ["a", null]],
];

for (const [what, value] of rejectedCases) {
  Deno.test(`stringList() rejects ${what}`, () => {
    assert.throws(() => stringList(value), ClaimTypeError);
  });
}

Deno.test("stringList() returns a copy, not the claim's own array", () => {
  const groups = ["/a"];
  const list = stringList(groups);
  list.push("/b");
  assert.deepEqual(groups, ["/a"]);
});
