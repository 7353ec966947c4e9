/**
 * Said loudly at start-up: an IdP that may answer a refresh without an ID token (OIDC Core
 * 12.2) and has no userinfo endpoint leaves the refresh check blind to what changed about the
 * user since sign-in.
 */
export function refreshCheckBlindSpot(
  metadata: { userinfo_endpoint?: string | undefined },
  reauthCheck: "none" | "refresh",
): string | undefined {
  if (reauthCheck !== "refresh" || metadata.userinfo_endpoint !== undefined) return undefined;
  return 'sessions.reauth_check = "refresh" but the identity provider has no userinfo endpoint: ' +
    "a refresh that brings no ID token cannot show group, role or claim changes, and the policy " +
    "is then applied to the claims from sign-in (only a disabled user or ended grant is caught)";
}
