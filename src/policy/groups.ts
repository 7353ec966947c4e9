/**
 * Group comparison, shared by the authorization policy and the per-group client config.
 *
 * Keycloak's "Group Membership" mapper sends full group paths by default: `/vpn-users`,
 * `/staff/vpn-admins`. Other IdPs send bare names: `vpn-users`. The rule, case-sensitive:
 *
 * - A configured group with a leading `/` is a full path and matches only a claim value equal
 *   to it: `/staff/vpn-admins` matches `/staff/vpn-admins`.
 * - A configured group without a leading `/` matches a claim value equal to it, or the same path
 *   anchored at the top level: `vpn-users` matches `vpn-users` and `/vpn-users`;
 *   `staff/vpn-admins` matches `staff/vpn-admins` and `/staff/vpn-admins`.
 * - A group is never matched by its last path segment alone: `vpn-admins` does NOT match
 *   `/staff/vpn-admins`, because it would then also match `/other/vpn-admins`, a group someone
 *   else may control. Nested groups must be configured with their path.
 */

/** Whether the configured group `configured` matches the claim value `claimed` (see module doc). */
export function groupMatches(configured: string, claimed: string): boolean {
  if (configured === "") return false;
  if (claimed === configured) return true;
  return !configured.startsWith("/") && claimed === `/${configured}`;
}

/** Whether any of the user's groups matches any of the configured groups. */
export function inAnyGroup(configured: readonly string[], userGroups: readonly string[]): boolean {
  return configured.some((group) => userGroups.some((claimed) => groupMatches(group, claimed)));
}

/**
 * Checks a configured group name at config load. Returns an error message, or `undefined` when
 * the name is usable.
 */
export function validateGroupName(name: string): string | undefined {
  if (name.trim() === "") return "Group name is empty";
  if (name !== name.trim()) return `Group name has leading or trailing spaces: "${name}"`;
  if (/[\p{Cc}]/u.test(name)) return "Group name contains control characters";
  if (name === "/" || name.endsWith("/")) return `Group path ends with "/": "${name}"`;
  if (name.includes("//")) return `Group path has an empty segment: "${name}"`;
  return undefined;
}
