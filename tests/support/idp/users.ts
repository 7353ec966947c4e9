/**
 * Accounts of the test IdP and the Keycloak-shaped claims they produce.
 *
 * Default users (passwords are `<username>-password`):
 *
 * | user  | groups                           | realm roles | notes                          |
 * | ----- | -------------------------------- | ----------- | ------------------------------ |
 * | alice | `/vpn-users`, `/staff/vpn-admins`| `vpn-user`  | client role `vpn-admin`        |
 * | bob   | `/other`                         | (none)      | no VPN role or group           |
 * | carol | `/vpn-users`                     | `vpn-user`  | `email_verified: false`        |
 * | dave  | `/vpn-users`                     | `vpn-user`  | disabled from the start        |
 * | erin  | `/vpn-users`                     | `vpn-user`  | login ends in `access_denied`  |
 *
 * Client roles (`resource_access.<client_id>.roles`) are given per client id; the key `*`
 * applies to every client.
 */

export interface TestUser {
  username: string;
  password: string;
  /** Keycloak uses a UUID; defaults to a fresh random UUID per IdP instance. */
  sub?: string;
  email?: string;
  emailVerified?: boolean;
  givenName?: string;
  familyName?: string;
  /** Full group paths with a leading slash, as Keycloak's "Full group path" mapper emits. */
  groups?: string[];
  realmRoles?: string[];
  /** Client roles by client id; `*` means every client. */
  clientRoles?: Record<string, string[]>;
  /** A disabled user cannot log in and every refresh grant for them fails with invalid_grant. */
  disabled?: boolean;
  /** A correct password still ends the login with `error=access_denied`. */
  denied?: boolean;
  /** Custom attribute claims (a Keycloak user attribute mapper), e.g. `{ vpn_access: true }`. */
  attributes?: Record<string, unknown>;
}

/** A user after defaults: every field present. */
export interface ResolvedTestUser extends Required<Omit<TestUser, "clientRoles" | "attributes">> {
  clientRoles: Record<string, string[]>;
  attributes: Record<string, unknown>;
}

function demo(
  username: string,
  groups: string[],
  realmRoles: string[],
  extra: Partial<TestUser> = {},
): TestUser {
  return {
    username,
    password: `${username}-password`,
    email: `${username}@example.com`,
    emailVerified: true,
    givenName: username[0]!.toUpperCase() + username.slice(1),
    familyName: "Example",
    groups,
    realmRoles,
    ...extra,
  };
}

export const DEFAULT_USERS: readonly TestUser[] = Object.freeze([
  demo("alice", ["/vpn-users", "/staff/vpn-admins"], ["vpn-user"], {
    clientRoles: { "*": ["vpn-admin"] },
  }),
  demo("bob", ["/other"], []),
  demo("carol", ["/vpn-users"], ["vpn-user"], { emailVerified: false }),
  demo("dave", ["/vpn-users"], ["vpn-user"], { disabled: true }),
  demo("erin", ["/vpn-users"], ["vpn-user"], { denied: true }),
]);

export function resolveUser(user: TestUser): ResolvedTestUser {
  return {
    username: user.username,
    password: user.password,
    sub: user.sub ?? crypto.randomUUID(),
    email: user.email ?? `${user.username}@example.com`,
    emailVerified: user.emailVerified ?? true,
    givenName: user.givenName ?? user.username,
    familyName: user.familyName ?? "",
    groups: [...(user.groups ?? [])],
    realmRoles: [...(user.realmRoles ?? [])],
    clientRoles: structuredClone(user.clientRoles ?? {}),
    disabled: user.disabled ?? false,
    denied: user.denied ?? false,
    attributes: structuredClone(user.attributes ?? {}),
  };
}

/**
 * Every claim the user can have, shaped like Keycloak's default mappers plus a group mapper
 * (full path), role mappers with "Add to ID token" on and attribute mappers. Like Keycloak,
 * an empty one is left out: no groups, no `groups` claim; no roles, no `realm_access`; no
 * client roles, no `resource_access.<client>`. oidc-provider filters them by scope.
 */
export function userClaims(
  user: ResolvedTestUser,
  clientIds: readonly string[],
): Record<string, unknown> {
  const resourceAccess: Record<string, { roles: string[] }> = {};
  for (const clientId of clientIds) {
    const roles = [...(user.clientRoles["*"] ?? []), ...(user.clientRoles[clientId] ?? [])];
    if (roles.length > 0) resourceAccess[clientId] = { roles };
  }
  return {
    sub: user.sub,
    preferred_username: user.username,
    name: `${user.givenName} ${user.familyName}`.trim(),
    given_name: user.givenName,
    family_name: user.familyName,
    email: user.email,
    email_verified: user.emailVerified,
    ...(user.groups.length > 0 ? { groups: [...user.groups] } : {}),
    ...(user.realmRoles.length > 0 ? { realm_access: { roles: [...user.realmRoles] } } : {}),
    ...(Object.keys(resourceAccess).length > 0 ? { resource_access: resourceAccess } : {}),
    ...structuredClone(user.attributes),
  };
}
