/**
 * Reading claims from ID token or userinfo claim sets. Claim values are IdP data: they are
 * checked for type here and never copied into error messages.
 */

/** Why a claim could not be used. `claim` is the configured path, never the claim's value. */
export class ClaimError extends Error {
  readonly code: "missing_claim" | "invalid_claim";
  readonly claim: string;

  constructor(code: "missing_claim" | "invalid_claim", claim: string, message: string) {
    super(message);
    this.name = "ClaimError";
    this.code = code;
    this.claim = claim;
  }
}

/**
 * The value at `path` in `claims`, or `undefined`. A path may be dotted to reach nested claims
 * such as Keycloak's `realm_access.roles` or `resource_access.<client>.roles`.
 *
 * At every level a literal key containing dots takes precedence over walking: the longest run of
 * path segments that names an own property is tried first. So `https://example.com/groups`-style
 * or `a.b` keys work as written, and `resource_access.vpn.example.com.roles` finds the client
 * `vpn.example.com`. Only own properties are read, so `constructor` or `__proto__` never reach
 * the prototype.
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path === "") return undefined;
  return lookup(claims, path);
}

/** How a configured claim path can name no claim: see {@link claimPathFlaw}. */
export type ClaimPathFlaw = "empty" | "blank" | "empty segment" | "blank segment";

/**
 * Why the configured claim `path` names no claim an IdP sends, or `undefined`. claimAt reads
 * `a..b`, `.roles` or `groups.` through an empty key no IdP sends, and `""` as no claim at all:
 * a policy reading one denies every user (a username or common name never found) or drops a
 * rule's input in silence (no groups, no roles), so config load refuses them. Blank means white
 * space only. The segments are the dots' (claimAt's own), not the literal keys it tries first.
 */
export function claimPathFlaw(path: string): ClaimPathFlaw | undefined {
  if (path === "") return "empty";
  if (path.trim() === "") return "blank";
  const segments = path.split(".");
  if (segments.includes("")) return "empty segment";
  if (segments.some((segment) => segment.trim() === "")) return "blank segment";
  return undefined;
}

/**
 * The top-level claims `claimAt(claims, path)` may read: the path itself and each of its
 * dotted prefixes that `claims` has. Kept whole, they give claimAt the same answer later (a
 * session keeps only these); `https://example.com/claims.groups` keeps
 * `https://example.com/claims`, not `https://example`.
 */
export function claimsReadFor(claims: Record<string, unknown>, path: string): string[] {
  const keys: string[] = [];
  if (path === "") return keys;
  if (Object.hasOwn(claims, path)) keys.push(path);
  for (let dot = path.lastIndexOf("."); dot >= 0; dot = previousDot(path, dot)) {
    const key = path.slice(0, dot);
    if (Object.hasOwn(claims, key)) keys.push(key);
  }
  return keys;
}

/**
 * Walks the dots of `path` from the last one back, so the key tried is the longest prefix
 * first. Works on the string itself: every REAUTH judges the session's claims again, and a
 * split, slice and join per level were allocations per event for the same answer.
 */
function lookup(node: unknown, path: string): unknown {
  if (!isPlainObject(node)) return undefined;
  if (Object.hasOwn(node, path)) return node[path];
  for (let dot = path.lastIndexOf("."); dot >= 0; dot = previousDot(path, dot)) {
    const key = path.slice(0, dot);
    if (!Object.hasOwn(node, key)) continue;
    const found = lookup(node[key], path.slice(dot + 1));
    if (found !== undefined) return found;
  }
  return undefined;
}

function previousDot(path: string, dot: number): number {
  return dot === 0 ? -1 : path.lastIndexOf(".", dot - 1);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The claim at `path` as a list of strings: a missing (or `null`) claim is an empty list, a
 * string is a one-element list, an array must hold only strings.
 *
 * @throws {ClaimError} `invalid_claim` for any other shape
 */
export function claimStrings(claims: Record<string, unknown>, path: string): string[] {
  const value = claimAt(claims, path);
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
    return [...value];
  }
  const found = Array.isArray(value) ? "an array holding other types" : describeType(value);
  throw new ClaimError(
    "invalid_claim",
    path,
    `Claim has the wrong type: "${path}" must be a string or an array of strings, not ${found}`,
  );
}

/** A short type name for error messages; never the value itself. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "object":
      return "an object";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "string":
      return "a string";
    default:
      return typeof value;
  }
}
