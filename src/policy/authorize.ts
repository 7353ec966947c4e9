/**
 * The authorization decision: may this authenticated user use the VPN with this certificate?
 * And the config-load checks of the names the deny reasons carry (required claims, claim paths).
 */
import type { ResolvedConfig } from "../config/types.ts";
import { clientDeny, clientHalt, ManagementArgumentError } from "../management/commands.ts";
import { printable } from "../printable_text.ts";
import { claimAt, ClaimError, claimPathFlaw } from "./claims.ts";
import { inAnyGroup } from "./groups.ts";
import { extractIdentity, type Identity, type IdentityClaimOptions } from "./identity.ts";

export type DenyCode = "group" | "role" | "claim" | "common_name";

/**
 * `reason` is short and fit to show the user (deny page, the client's reason of `client-deny` or
 * HALT): it names configured things only and never repeats claim values, which are IdP data of
 * any length.
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
 * when the entry is usable: its name passes {@link validateRequiredClaimName}, its value is a
 * string, finite number or boolean, or a non-empty array of them.
 */
export function validateRequiredClaim(name: string, value: unknown): string | undefined {
  const nameProblem = validateRequiredClaimName(name);
  if (nameProblem !== undefined) return nameProblem;
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

/**
 * Checks a `requiredClaims` name at config load: a claim path ({@link validateClaimPath}), and
 * the deny reason naming it (authorize's, sent to the client by `client-deny` or, at a sign-in,
 * with HALT: refusal.ts) can be sent. A name that
 * makes it too long, or holds a control character, would otherwise leave every user it denies
 * without an answer until OpenVPN's timeout. Returns an error message (the name shortened and escaped), or
 * `undefined`.
 */
export function validateRequiredClaimName(name: string): string | undefined {
  return validateClaimPath("Required claim name", name) ??
    unsendableReason("Required claim name", name, [claimReason(name)], true);
}

/**
 * Checks a configured claim path (`what` says which) at config load: one that claimPathFlaw
 * finds names no claim (empty or blank, or an empty or blank segment between its dots). Returns
 * an error message (the path shortened and escaped), or `undefined`.
 */
export function validateClaimPath(what: string, path: string): string | undefined {
  switch (claimPathFlaw(path)) {
    case undefined:
      return undefined;
    case "empty":
      return `${what} is empty`;
    case "blank":
      return `${what} is blank: ${shortened(path)}`;
    case "empty segment":
      return `${what} has an empty segment (a leading, trailing or doubled "."): ${
        shortened(path)
      }`;
    case "blank segment":
      return `${what} has a blank segment between its dots: ${shortened(path)}`;
  }
}

/**
 * Checks the claim paths of `opts` at config load: each a claim path ({@link validateClaimPath}),
 * and sendable: extractIdentity names them in the reason it refuses a claim with, which is sent
 * as `client-deny` reason (a path too long for it, or with a control character, would leave the
 * user without an answer until OpenVPN's timeout). Every
 * such reason is built by extractIdentity itself, from claims that provoke each refusal.
 * Returns an error message per unusable option.
 */
export function validateClaimPaths(
  opts: IdentityClaimOptions,
): Partial<Record<keyof IdentityClaimOptions, string>> {
  const problems: Partial<Record<keyof IdentityClaimOptions, string>> = {};
  for (const key of ["usernameClaim", "groupsClaim", "rolesClaim"] as const) {
    const path = opts[key];
    if (path === undefined) continue;
    const problem = validateClaimPath("Claim path", path) ??
      unsendableReason("Claim path", path, identityRefusals(opts, path), false);
    if (problem !== undefined) problems[key] = problem;
  }
  return problems;
}

/**
 * Absent, and a claim value of each JSON type, the strings a username may not be among them:
 * between them they provoke every refusal of extractIdentity (missing, each wrong type,
 * control characters), whose message names the path.
 */
const PROVOKING_VALUES: readonly unknown[] = [
  undefined,
  null,
  "",
  "\u0001",
  0,
  true,
  {},
  [0],
];

/** The messages extractIdentity refuses claims with when the claim at `path` is provoking. */
function identityRefusals(opts: IdentityClaimOptions, path: string): string[] {
  const reasons = new Set<string>();
  for (const value of PROVOKING_VALUES) {
    const claims: Record<string, unknown> = {};
    defineClaim(claims, "sub", "subject");
    defineClaim(claims, opts.usernameClaim, "user");
    if (value === undefined) delete claims[path];
    else defineClaim(claims, path, value);
    try {
      extractIdentity(claims, opts);
    } catch (error) {
      if (!(error instanceof ClaimError)) throw error;
      reasons.add(error.message);
    }
  }
  return [...reasons];
}

/** Defined, not assigned: a path `__proto__` must stay a claim. */
function defineClaim(claims: Record<string, unknown>, path: string, value: unknown): void {
  Object.defineProperty(claims, path, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Why one of `reasons`, built from the configured `name`, could not be sent, or `undefined`.
 * Each is built into the `client-deny` command that sends it, in both places a reason goes
 * (OpenVPN's log and the client's), so the limits are exactly the command's. `toClient`: the
 * reasons are what the client is told, which a sign-in's refusal may send with HALT instead
 * (refusal.ts): built into that `client-kill` too. (Claim paths name themselves only in the
 * reason OpenVPN logs: the client is told a fixed text.)
 */
function unsendableReason(
  what: string,
  name: string,
  reasons: readonly string[],
  toClient: boolean,
): string | undefined {
  for (const reason of reasons) {
    try {
      clientDeny(0, 0, reason, reason);
      if (toClient) clientHalt(0, reason);
    } catch (error) {
      if (!(error instanceof ManagementArgumentError)) throw error;
      return `${what} ${shortened(name)} cannot be sent in the deny reason naming it ` +
        `(${shortened(reason)}): ${error.message}`;
    }
  }
  return undefined;
}

const SHOWN_CHARS = 40;

/** Quoted and escaped as JSON, then printable; only its start when long (with its length). */
function shortened(text: string): string {
  const chars = [...text];
  if (chars.length <= SHOWN_CHARS) return printable(JSON.stringify(text));
  const start = printable(JSON.stringify(chars.slice(0, SHOWN_CHARS).join("")));
  return `${start.slice(0, -1)}..." (${chars.length} characters)`;
}
