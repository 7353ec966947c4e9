/**
 * claimPathFlaw() is the one definition of a claim path that names no claim: claimAt reads an
 * empty path as no claim and an empty segment as a key no IdP sends.
 */
import { assertEquals } from "../../support/assert.ts";
import { claimAt, claimPathFlaw } from "../../../src/policy/claims.ts";
import { validateClaimPath } from "../../../src/policy/authorize.ts";

Deno.test("claimPathFlaw() finds empty and blank paths and segments", () => {
  const cases: Array<[path: string, flaw: ReturnType<typeof claimPathFlaw>]> = [
    ["", "empty"],
    [" ", "blank"],
    ["\t ", "blank"],
    ["a..b", "empty segment"],
    [".roles", "empty segment"],
    ["realm_access.", "empty segment"],
    [".", "empty segment"],
    ["realm_access. .roles", "blank segment"],
    ["groups. ", "blank segment"],
  ];
  for (const [path, flaw] of cases) {
    assertEquals(claimPathFlaw(path), flaw, JSON.stringify(path));
  }
});

Deno.test("claimPathFlaw() takes the paths claimAt reads claims at", () => {
  for (
    const path of [
      "preferred_username",
      "realm_access.roles",
      "resource_access.vpn.example.com.roles",
      "https://example.com/claims.groups",
      "given name",
      "__proto__",
    ]
  ) {
    assertEquals(claimPathFlaw(path), undefined, path);
  }
});

Deno.test("an empty segment reads no claim the IdP sends under the path meant", () => {
  const claims = { realm_access: { roles: ["vpn"] } };
  assertEquals(claimAt(claims, "realm_access.roles"), ["vpn"]);
  for (const path of ["realm_access..roles", ".realm_access.roles", "realm_access.roles."]) {
    assertEquals(claimAt(claims, path), undefined, path);
  }
});

Deno.test("validateClaimPath() names the flaw and shows the path escaped", () => {
  assertEquals(validateClaimPath("Claim path", ""), "Claim path is empty");
  assertEquals(validateClaimPath("Claim path", "  "), 'Claim path is blank: "  "');
  assertEquals(
    validateClaimPath("Claim path", "a..b"),
    'Claim path has an empty segment (a leading, trailing or doubled "."): "a..b"',
  );
  assertEquals(
    validateClaimPath("Claim path", "a. .b"),
    'Claim path has a blank segment between its dots: "a. .b"',
  );
  assertEquals(
    validateClaimPath("Claim path", "a..\n"),
    'Claim path has an empty segment (a leading, trailing or doubled "."): "a..\\n"',
  );
  assertEquals(validateClaimPath("Claim path", "realm_access.roles"), undefined);
});
