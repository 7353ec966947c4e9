/**
 * The rules of identity_policy.ts that decide what a client is told and what a session keeps:
 * a missing claim is told to the user as a fixed text (the claim's path goes to the log only),
 * and a session keeps the claim that binds the certificate to the account
 * (`authorization.common_name_claim`), or every later REAUTH judged on the kept claims denies it.
 */
import { assert, assertEquals } from "../../support/assert.ts";
import {
  claimPathsAdded,
  judge,
  policyClaims,
  type PolicyConfig,
} from "../../../src/bridge/identity_policy.ts";
import { TEST_POLICY } from "../../support/client_events_fixture.ts";

const MISSING_INFORMATION =
  "Your account is missing information this VPN needs; contact your administrator";

Deno.test("judge(): a missing username claim tells the user the fixed text, and only the log names the claim", () => {
  const config: PolicyConfig = {
    ...TEST_POLICY,
    oidc: { ...TEST_POLICY.oidc, usernameClaim: "https://corp.example/internal.login" },
  };
  const verdict = judge({ sub: "u-1", groups: ["/vpn-users"] }, "alice", config);
  assert(!verdict.allow, JSON.stringify(verdict));
  assertEquals(verdict.denial.code, "missing_claim");
  assertEquals(verdict.denial.reason, MISSING_INFORMATION);
  assert(
    verdict.denial.logReason.includes("https://corp.example/internal.login"),
    verdict.denial.logReason,
  );
});

const BOUND: PolicyConfig = {
  ...TEST_POLICY,
  authorization: { ...TEST_POLICY.authorization, commonNameClaim: "vpn_certificate" },
};

Deno.test("policyClaims(): a session keeps the common_name_claim, so a REAUTH judged on the kept claims still admits the user", () => {
  const claims = {
    sub: "u-1",
    preferred_username: "alice",
    groups: ["/vpn-users"],
    vpn_certificate: "alice-laptop",
    email: "alice@example.com",
  };
  assert(judge(claims, "alice-laptop", BOUND).allow);
  const kept = policyClaims(claims, BOUND);
  assertEquals(kept["vpn_certificate"], "alice-laptop");
  const atReauth = judge(kept, "alice-laptop", BOUND, false);
  assert(atReauth.allow, JSON.stringify(atReauth));
});

Deno.test("claimPathsAdded(): turning on common_name_claim names it, as sessions signed in before lack it", () => {
  assertEquals(claimPathsAdded([TEST_POLICY], [BOUND]), ["vpn_certificate"]);
});
