/**
 * What a session keeps of the IdP's claims must judge the user as the whole claims did: with
 * the default `reauth_check = "none"` every REAUTH judges the kept claims alone.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  claimPathsAdded,
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
