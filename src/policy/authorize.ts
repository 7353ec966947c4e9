/** The authorization decision: may this authenticated user use the VPN with this certificate? */
import type { ResolvedConfig } from "../config/types.ts";
import { claimAt } from "./claims.ts";
import { inAnyGroup } from "./groups.ts";
import type { Identity } from "./identity.ts";

export type DenyCode = "group" | "role" | "claim" | "common_name";

/**
 * `reason` is short and fit to show the user (deny page, `client-deny` client reason): it names
 * configured things only and never repeats claim values, which are IdP data of any length.
 */
export type Decision =
  | { allow: true }
  | { allow: false; reason: string; code: DenyCode };

export type AuthorizationPolicy = ResolvedConfig["authorization"];

const NOT_IN_GROUP = "You are not in a group allowed to use this VPN";
const NO_ROLE = "You do not have a role allowed to use this VPN";
const EMAIL_NOT_VERIFIED = "Your account's email address is not verified";
const WRONG_CERTIFICATE = "This VPN certificate does not belong to your account";

/**
 * Decides whether `identity` may connect. Every configured rule must pass, checked in this order
 * (the first failure is reported):
 *
 * 1. `allowedGroups` non-empty: the user is in at least one of them (group rule: see
 *    `groups.ts`; a bare name never matches a nested group by its last segment).
 * 2. `allowedRoles` non-empty: the user has at least one of them (exact, case-sensitive).
 * 3. `requiredClaims`: every entry matches. The claim name may be a dotted path. A scalar
 *    config value matches a claim strictly equal to it (same type: `email_verified = true`
 *    matches the boolean `true`, not the string `"true"`), or an array claim containing it.
 *    An array config value lists alternatives: the claim (or any element of an array claim)
 *    equals one of them. A missing claim, or any other config value type, never matches.
 * 4. `commonNameClaim` set: that claim is a string exactly equal to the certificate's common
 *    name. A missing claim or an empty common name never matches.
 *
 * With no rules configured at all, every authenticated user is allowed: the IdP's own access
 * control (who can log in to this client) is then the only gate.
 */
export function authorize(
  identity: Identity,
  claims: Record<string, unknown>,
  commonName: string,
  policy: AuthorizationPolicy,
): Decision {
  if (policy.allowedGroups.length > 0 && !inAnyGroup(policy.allowedGroups, identity.groups)) {
    return { allow: false, code: "group", reason: NOT_IN_GROUP };
  }
  if (
    policy.allowedRoles.length > 0 &&
    !policy.allowedRoles.some((role) => identity.roles.includes(role))
  ) {
    return { allow: false, code: "role", reason: NO_ROLE };
  }
  for (const [name, expected] of Object.entries(policy.requiredClaims)) {
    if (!claimMatches(claimAt(claims, name), expected)) {
      return { allow: false, code: "claim", reason: claimReason(name) };
    }
  }
  if (policy.commonNameClaim !== undefined) {
    const bound = claimAt(claims, policy.commonNameClaim);
    if (commonName === "" || typeof bound !== "string" || bound !== commonName) {
      return { allow: false, code: "common_name", reason: WRONG_CERTIFICATE };
    }
  }
  return { allow: true };
}

function claimReason(name: string): string {
  if (name === "email_verified") return EMAIL_NOT_VERIFIED;
  return `Your account does not have the required attribute "${name}"`;
}

/** Whether the claim value `actual` satisfies the configured `expected` (see {@link authorize}). */
export function claimMatches(actual: unknown, expected: unknown): boolean {
  const alternatives = Array.isArray(expected) ? expected : [expected];
  if (!alternatives.every(isScalar)) return false;
  const values = Array.isArray(actual) ? actual : [actual];
  return values.some((value) => alternatives.some((alt) => isScalar(value) && value === alt));
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value));
}

/**
 * Checks one `requiredClaims` entry at config load. Returns an error message, or `undefined`
 * when the value is usable (a string, finite number or boolean, or a non-empty array of them).
 */
export function validateRequiredClaim(name: string, value: unknown): string | undefined {
  if (name === "") return "Required claim name is empty";
  if (Array.isArray(value)) {
    if (value.length === 0) return `Required claim "${name}" lists no values`;
    if (!value.every(isScalar)) {
      return `Required claim "${name}" must list strings, numbers or booleans`;
    }
    return undefined;
  }
  if (!isScalar(value)) {
    return `Required claim "${name}" must be a string, number, boolean or an array of them`;
  }
  return undefined;
}
