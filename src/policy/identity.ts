/** Who the user is, as far as the VPN cares, taken from the ID token and userinfo claims. */
import { claimAt, ClaimError, claimStrings, describeType } from "./claims.ts";

export interface Identity {
  /** The configured username claim (e.g. `preferred_username`): used in logs and sessions. */
  username: string;
  /** The `sub` claim: the IdP's stable identifier for the user. */
  subject: string;
  /** Group claim values as sent (Keycloak: full paths like `/staff/vpn-admins`). */
  groups: string[];
  /** Role claim values; empty when no roles claim is configured. */
  roles: string[];
}

export interface IdentityClaimOptions {
  /** Claim path of the username, e.g. `preferred_username` or `email`. */
  usernameClaim: string;
  /** Claim path of the groups, e.g. `groups`. A missing claim means no groups. */
  groupsClaim: string;
  /** Claim path of the roles, e.g. `realm_access.roles`; `undefined` means no roles. */
  rolesClaim?: string | undefined;
}

/**
 * Builds the {@link Identity} from a claim set (ID token claims merged with userinfo). Claim
 * paths may be dotted (see {@link claimAt}). Groups and roles accept a string or an array of
 * strings; a missing groups or roles claim is an empty list, since Keycloak omits empty ones.
 *
 * @throws {ClaimError} `missing_claim` when the username or `sub` is absent, empty or blank,
 *   `invalid_claim` when a claim has the wrong type or the username has control characters
 */
export function extractIdentity(
  claims: Record<string, unknown>,
  opts: IdentityClaimOptions,
): Identity {
  return {
    username: requiredString(claims, opts.usernameClaim, "username"),
    subject: requiredString(claims, "sub", "subject"),
    groups: claimStrings(claims, opts.groupsClaim),
    roles: opts.rolesClaim === undefined ? [] : claimStrings(claims, opts.rolesClaim),
  };
}

function requiredString(claims: Record<string, unknown>, path: string, what: string): string {
  const value = claimAt(claims, path);
  // Blank counts as empty: "  " in a log or the audit line names no one (and looks like " ").
  if (value === undefined || value === null || (typeof value === "string" && !value.trim())) {
    throw new ClaimError("missing_claim", path, `Missing ${what} claim: "${path}"`);
  }
  if (typeof value !== "string") {
    throw new ClaimError(
      "invalid_claim",
      path,
      `Claim has the wrong type: "${path}" must be a string, not ${describeType(value)}`,
    );
  }
  // A username ends up in logs, session records and management commands: a line break in it
  // could forge log lines or commands further down, so such a claim is refused outright.
  if (/\p{Cc}/u.test(value)) {
    throw new ClaimError(
      "invalid_claim",
      path,
      `Claim contains control characters: "${path}"`,
    );
  }
  return value;
}
