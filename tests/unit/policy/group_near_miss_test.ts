/**
 * groupNearMiss() only explains a denial: it finds an allowed group the user has in another
 * form, and never one the user is in (groupMatches alone decides).
 */
import { assertEquals } from "../../support/assert.ts";
import { groupMatches, groupNearMiss } from "../../../src/policy/groups.ts";

Deno.test("groupNearMiss() names the configured group and the form the claim has it in", () => {
  const cases: Array<[configured: string[], claimed: string[], expected: unknown]> = [
    [["/vpn-users"], ["vpn-users"], { configured: "/vpn-users", form: "no leading slash" }],
    [["/staff/vpn-admins"], ["staff/vpn-admins"], {
      configured: "/staff/vpn-admins",
      form: "no leading slash",
    }],
    [["vpn-admins"], ["/staff/vpn-admins"], { configured: "vpn-admins", form: "nested" }],
    [["staff/vpn-admins"], ["/org/staff/vpn-admins"], {
      configured: "staff/vpn-admins",
      form: "nested",
    }],
    [["/staff/vpn-admins"], ["vpn-admins"], {
      configured: "/staff/vpn-admins",
      form: "last name only",
    }],
    [["a", "/vpn-users"], ["x", "vpn-users"], {
      configured: "/vpn-users",
      form: "no leading slash",
    }],
  ];
  for (const [configured, claimed, expected] of cases) {
    assertEquals(groupNearMiss(configured, claimed), expected, `${configured} vs ${claimed}`);
  }
});

Deno.test("groupNearMiss() finds nothing for matches, other groups and other parents", () => {
  const cases: Array<[configured: string[], claimed: string[]]> = [
    [["vpn-users"], ["/vpn-users"]],
    [["/vpn-users"], ["/vpn-users", "vpn-users"]],
    [["/vpn-users"], ["/other"]],
    [["/a/vpn-admins"], ["/b/vpn-admins"]],
    [["vpn-users"], ["vpn-users-old", "/x/vpn-users-old"]],
    [["/vpn-users"], []],
    [[], ["vpn-users"]],
  ];
  for (const [configured, claimed] of cases) {
    assertEquals(groupNearMiss(configured, claimed), undefined, `${configured} vs ${claimed}`);
  }
  // What it names is never a match.
  assertEquals(groupMatches("/vpn-users", "vpn-users"), false);
  assertEquals(groupMatches("vpn-admins", "/staff/vpn-admins"), false);
});
