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

/**
 * How a user's group differs from a configured group it is the same group as, perhaps, in
 * another form, when groupMatches says no (`configured` is always the configured name):
 * - `no leading slash`: the claim has `configured` without its leading `/` (`/vpn-users` and
 *   `vpn-users`: Keycloak's "Full group path" off, or an IdP that sends paths without it);
 * - `nested`: the claim has a group below some other group whose path ends with `configured`,
 *   which has no leading `/` (`vpn-admins` and `/staff/vpn-admins`);
 * - `last name only`: the claim has only the last name of the path `configured`
 *   (`/staff/vpn-admins` and `vpn-admins`: Keycloak's "Full group path" off).
 */
export interface GroupNearMiss {
  configured: string;
  form: "no leading slash" | "nested" | "last name only";
}

/**
 * The first configured group one of `userGroups` is only another form of (see
 * {@link GroupNearMiss}), for a denial's log to point at the setting; `undefined` when none is.
 * Never a match: the decision stays groupMatches' alone (a last name may be anyone's group).
 */
export function groupNearMiss(
  configured: readonly string[],
  userGroups: readonly string[],
): GroupNearMiss | undefined {
  for (const group of configured) {
    if (group === "") continue;
    const form = nearMissForm(group, userGroups);
    if (form !== undefined) return { configured: group, form };
  }
  return undefined;
}

function nearMissForm(
  configured: string,
  userGroups: readonly string[],
): GroupNearMiss["form"] | undefined {
  if (userGroups.some((claimed) => groupMatches(configured, claimed))) return undefined;
  if (configured.startsWith("/") && userGroups.includes(configured.slice(1))) {
    return "no leading slash";
  }
  if (
    !configured.startsWith("/") && userGroups.some((claimed) => claimed.endsWith(`/${configured}`))
  ) {
    return "nested";
  }
  const lastName = configured.slice(configured.lastIndexOf("/") + 1);
  if (configured.includes("/") && userGroups.includes(lastName)) return "last name only";
  return undefined;
}
