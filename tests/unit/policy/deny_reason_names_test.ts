/**
 * Names the config puts into deny reasons (required claim names, claim paths) are refused at
 * load when a deny reason built from them could not be sent: clientDeny, or clientHalt for a
 * reason the client is told (refusal.ts), would throw, and the client would wait for OpenVPN's
 * timeout without an answer.
 */
import { assert, assertEquals, assertStringIncludes } from "../../support/assert.ts";
import {
  authorize,
  validateClaimPaths,
  validateRequiredClaim,
  validateRequiredClaimName,
} from "../../../src/policy/authorize.ts";
import { ClaimError } from "../../../src/policy/claims.ts";
import { extractIdentity, type IdentityClaimOptions } from "../../../src/policy/identity.ts";
import { clientDeny, clientHalt } from "../../../src/management/commands.ts";

const POLICY = {
  allowedGroups: [],
  allowedRoles: [],
  requiredClaims: {},
  commonNameClaim: undefined,
};
const ALICE = { username: "alice", subject: "sub-1", groups: [], roles: [] };

/** The reason authorize() denies with when the required claim `name` is missing. */
function claimDenyReason(name: string): string {
  const decision = authorize(ALICE, {}, "cn", {
    ...POLICY,
    requiredClaims: { [name]: true },
  });
  assert(!decision.allow);
  return decision.reason;
}

Deno.test("validateRequiredClaimName() refuses a 201-character name, whose deny reason OpenVPN cannot take", () => {
  const name = "a".repeat(201);
  const problem = validateRequiredClaimName(name);
  assertEquals(
    problem,
    `Required claim name "${"a".repeat(40)}..." (201 characters) cannot be sent in the deny ` +
      'reason naming it ("Your account does not have the required ..." (253 characters)): ' +
      "Invalid deny reason: 257 bytes quoted, OpenVPN allows 256 per parameter",
  );
  assertEquals(validateRequiredClaim(name, true), problem);
});

Deno.test("validateRequiredClaimName() refuses a 196-character name, whose reason a sign-in's HALT cannot carry", () => {
  const name = "a".repeat(196);
  const problem = validateRequiredClaimName(name);
  assertEquals(
    problem,
    `Required claim name "${"a".repeat(40)}..." (196 characters) cannot be sent in the deny ` +
      'reason naming it ("Your account does not have the required ..." (248 characters)): ' +
      "Invalid halt reason: 257 bytes quoted, OpenVPN allows 256 per parameter",
  );
  assertEquals(validateRequiredClaim(name, true), problem);
});

Deno.test("validateRequiredClaimName() accepts a 195-character name, and clientDeny and clientHalt send its deny reason", () => {
  const name = "a".repeat(195);
  assertEquals(validateRequiredClaimName(name), undefined);
  assertEquals(validateRequiredClaim(name, true), undefined);
  const reason = claimDenyReason(name);
  // As the bridge sends it (logReason: the code), and the reason in OpenVPN's log place too.
  assertEquals(clientDeny(7, 1, "claim", reason).name, "client-deny");
  assertEquals(clientDeny(7, 1, reason, reason).name, "client-deny");
  // A sign-in refused for it is halted with it (refusal.ts).
  assertEquals(clientHalt(7, reason).name, "client-kill");
});

Deno.test("validateRequiredClaimName() refuses a name with a line feed, shown escaped", () => {
  const problem = validateRequiredClaimName("a\nb");
  assertEquals(
    problem,
    'Required claim name "a\\nb" cannot be sent in the deny reason naming it ("Your ' +
      'account does not have the required ..." (55 characters)): Invalid deny reason: ' +
      "control characters (CR, LF, NUL, ...) are not allowed",
  );
  assertEquals(validateRequiredClaim("a\nb", true), problem);
  assertEquals(typeof validateRequiredClaimName("a\u0085b"), "string");
});

Deno.test("validateRequiredClaimName() counts a quote as the command escapes it", () => {
  // Each '"' is sent as '\"': half as many fit as letters (195, with the reason's own two).
  assertStringIncludes(validateRequiredClaimName('"'.repeat(98))!, "257 bytes quoted");
  assertEquals(validateRequiredClaimName('"'.repeat(97)), undefined);
  clientDeny(7, 1, "claim", claimDenyReason('"'.repeat(97)));
  clientHalt(7, claimDenyReason('"'.repeat(97)));
});

const CLAIM_OPTIONS: IdentityClaimOptions = {
  usernameClaim: "preferred_username",
  groupsClaim: "groups",
  rolesClaim: "realm_access.roles",
};

/**
 * Every refusal extractIdentity has for the claim at `path`, from claims written out here
 * (not by the code under test): missing, each wrong type, control characters.
 */
function refusalsFor(opts: IdentityClaimOptions, path: string): string[] {
  const values: unknown[] = [undefined, null, "", "a\nb", 1, false, {}, [1], ["a", 1]];
  const messages: string[] = [];
  for (const value of values) {
    const claims: Record<string, unknown> = { sub: "sub-1", [opts.usernameClaim]: "alice" };
    if (value === undefined) delete claims[path];
    else claims[path] = value;
    try {
      extractIdentity(claims, opts);
    } catch (error) {
      assert(error instanceof ClaimError);
      messages.push(error.message);
    }
  }
  return messages;
}

for (const key of ["usernameClaim", "groupsClaim", "rolesClaim"] as const) {
  Deno.test(`validateClaimPaths() refuses a ${key} too long for its deny reasons, and allows one a character shorter`, () => {
    const withPath = (length: number) => ({ ...CLAIM_OPTIONS, [key]: "p".repeat(length) });
    // Bounded: a rule that refuses no length would fail here, not hang the suite.
    let refused = 1;
    while (refused <= 256 && validateClaimPaths(withPath(refused))[key] === undefined) refused++;
    assert(refused <= 256, `${key} of 256 characters was not refused`);
    // The groups and roles claims' longest reason ("... not an array holding other types")
    // leaves the least room; every reason leaves at least 150 characters.
    assert(refused > 150, `${key} refused at ${refused} characters`);
    const problem = validateClaimPaths(withPath(refused))[key]!;
    assertStringIncludes(problem, `Claim path "${"p".repeat(40)}..." (${refused} characters)`);
    assertStringIncludes(problem, "OpenVPN allows 256 per parameter");
    const longest = withPath(refused - 1);
    assertEquals(validateClaimPaths(longest), {});
    const reasons = refusalsFor(longest, "p".repeat(refused - 1));
    assert(reasons.length >= 3, reasons.join("\n"));
    // As the bridge sends a claim refusal: its message is the reason OpenVPN logs.
    for (const reason of reasons) clientDeny(7, 1, reason, "Your account is missing information");
  });
}

Deno.test("validateClaimPaths() refuses a claim path with a line feed, and names only that option", () => {
  const problems = validateClaimPaths({ ...CLAIM_OPTIONS, groupsClaim: "a\nb" });
  assertEquals(Object.keys(problems), ["groupsClaim"]);
  assertStringIncludes(problems.groupsClaim!, 'Claim path "a\\nb" cannot be sent');
  assertStringIncludes(problems.groupsClaim!, "control characters (CR, LF, NUL, ...)");
});

Deno.test("validateClaimPaths() accepts the usual paths, and ones naming Object's own members", () => {
  assertEquals(validateClaimPaths(CLAIM_OPTIONS), {});
  assertEquals(
    validateClaimPaths({
      usernameClaim: "__proto__",
      groupsClaim: "constructor",
      rolesClaim: undefined,
    }),
    {},
  );
});
