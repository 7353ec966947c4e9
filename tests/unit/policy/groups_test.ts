import { assertEquals } from "../../support/assert.ts";
import { groupMatches, inAnyGroup, validateGroupName } from "../../../src/policy/groups.ts";

Deno.test("groupMatches() follows the documented full-path rule", () => {
  const cases: Array<[configured: string, claimed: string, matches: boolean]> = [
    ["vpn-users", "vpn-users", true],
    ["vpn-users", "/vpn-users", true],
    ["/vpn-users", "/vpn-users", true],
    ["/vpn-users", "vpn-users", false],
    ["/staff/vpn-admins", "/staff/vpn-admins", true],
    ["staff/vpn-admins", "/staff/vpn-admins", true],
    ["staff/vpn-admins", "staff/vpn-admins", true],
    // A bare name must not match a nested group by its last segment: /other/vpn-admins may be
    // a group somebody else administers.
    ["vpn-admins", "/staff/vpn-admins", false],
    ["vpn-admins", "/other/vpn-admins", false],
    ["/vpn-admins", "/other/vpn-admins", false],
    ["staff", "/staff/vpn-admins", false],
    ["/staff", "/staff/vpn-admins", false],
    ["VPN-Users", "/vpn-users", false],
    ["vpn-users", "//vpn-users", false],
    ["", "", false],
    ["", "/", false],
  ];
  for (const [configured, claimed, matches] of cases) {
    assertEquals(groupMatches(configured, claimed), matches, `${configured} vs ${claimed}`);
  }
});

Deno.test("inAnyGroup() needs one match between the two lists", () => {
  assertEquals(inAnyGroup(["a", "/b/c"], ["/x", "/b/c"]), true);
  assertEquals(inAnyGroup(["a"], ["/x/a"]), false);
  assertEquals(inAnyGroup([], ["/a"]), false);
  assertEquals(inAnyGroup(["a"], []), false);
});

Deno.test("validateGroupName() accepts names and paths and refuses broken ones", () => {
  for (const ok of ["vpn-users", "/vpn-users", "/staff/vpn-admins", "staff/vpn-admins", "é"]) {
    assertEquals(validateGroupName(ok), undefined, ok);
  }
  for (const bad of ["", "  ", " a", "a\n", "/", "/staff/", "/staff//x"]) {
    assertEquals(typeof validateGroupName(bad), "string", JSON.stringify(bad));
  }
});
