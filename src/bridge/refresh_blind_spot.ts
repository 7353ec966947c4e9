/**
 * Said loudly at start-up: an IdP that may answer a refresh without an ID token (OIDC Core
 * 12.2) and has no userinfo endpoint leaves every refresh check (at REAUTH and the periodic
 * re-check alike) blind to what changed about the user since sign-in.
 */
export function refreshCheckBlindSpot(
  metadata: { userinfo_endpoint?: string | undefined },
  checks: { reauthCheck: "none" | "refresh"; recheckIntervalMs: number | undefined },
): string | undefined {
  if (metadata.userinfo_endpoint !== undefined) return undefined;
  const keys = [
    ...(checks.reauthCheck === "refresh" ? ['sessions.reauth_check = "refresh"'] : []),
    ...(checks.recheckIntervalMs === undefined ? [] : ["sessions.recheck_interval"]),
  ];
  if (keys.length === 0) return undefined;
  return `${keys.join(" and ")} but the identity provider has no userinfo endpoint: ` +
    "a refresh that brings no ID token cannot show group, role or claim changes, and the policy " +
    "is then applied to the claims from sign-in (only a disabled user or ended grant is caught)";
}
