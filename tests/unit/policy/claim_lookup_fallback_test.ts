/**
 * claimAt tries the longest literal key first, then shorter ones: a literal dotted key that
 * does not hold the rest of the path must not hide the nested claim the path names.
 */
import { assertEquals } from "../../support/assert.ts";
import { claimAt } from "../../../src/policy/claims.ts";

Deno.test("claimAt() falls back to a shorter key when the longest literal key lacks the rest", () => {
  const claims = {
    "resource_access.vpn": { other: ["x"] },
    resource_access: { vpn: { roles: ["vpn-user"] } },
  };
  assertEquals(claimAt(claims, "resource_access.vpn.roles"), ["vpn-user"]);
  assertEquals(claimAt(claims, "resource_access.vpn.other"), ["x"]);
});
