/** The authorization policy: pure functions over claims and configuration, no I/O. */
export { claimAt, ClaimError, claimStrings } from "./claims.ts";
export { extractIdentity, type Identity, type IdentityClaimOptions } from "./identity.ts";
export { groupMatches, inAnyGroup, validateGroupName } from "./groups.ts";
export {
  type AuthorizationPolicy,
  authorize,
  claimMatches,
  type Decision,
  type DenyCode,
  validateRequiredClaim,
} from "./authorize.ts";
export {
  authTokenUserLine,
  CLIENT_CONFIG_DIRECTIVES,
  linesForGroups,
  MAX_AUTH_TOKEN_USERNAME_BYTES,
  MAX_CLIENT_CONFIG_LINE_BYTES,
  validateClientConfigLine,
} from "./client_config.ts";
