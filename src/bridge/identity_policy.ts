/**
 * From IdP claims to a verdict: extract the identity, apply [authorization], and pick the
 * client config lines. Shared by the browser login and the refresh check at REAUTH, so both
 * apply exactly the same rules.
 */
import type { ResolvedConfig } from "../config/types.ts";
import type { DenialReason } from "../metrics/port.ts";
import { authorize } from "../policy/authorize.ts";
import { ClaimError } from "../policy/claims.ts";
import { linesForGroups } from "../policy/client_config.ts";
import { extractIdentity, type Identity } from "../policy/identity.ts";

export type Verdict =
  | { allow: true; identity: Identity; lines: string[] }
  | { allow: false; code: DenialReason; reason: string; logReason: string };

export interface PolicyConfig {
  oidc: Pick<ResolvedConfig["oidc"], "usernameClaim" | "groupsClaim" | "rolesClaim">;
  authorization: ResolvedConfig["authorization"];
  clientConfig: ResolvedConfig["clientConfig"];
  /**
   * Claim paths a session keeps besides this policy's own: those other servers' policies read,
   * so a session can move to another server and be judged there.
   */
  alsoKeep?: readonly string[];
}

export function judge(
  claims: Record<string, unknown>,
  commonName: string,
  config: PolicyConfig,
): Verdict {
  let identity: Identity;
  try {
    identity = extractIdentity(claims, {
      usernameClaim: config.oidc.usernameClaim,
      groupsClaim: config.oidc.groupsClaim,
      ...(config.oidc.rolesClaim === undefined ? {} : { rolesClaim: config.oidc.rolesClaim }),
    });
  } catch (error) {
    if (error instanceof ClaimError) {
      return {
        allow: false,
        code: "missing_claim",
        reason: "Your account is missing information this VPN needs; contact your administrator",
        logReason: error.message,
      };
    }
    throw error;
  }
  const decision = authorize(identity, claims, commonName, config.authorization);
  if (!decision.allow) {
    return { allow: false, code: decision.code, reason: decision.reason, logReason: decision.code };
  }
  return { allow: true, identity, lines: linesForGroups(config.clientConfig, identity.groups) };
}

/**
 * The claims a session keeps: only those the policy reads (so it can be re-applied without the
 * IdP), not everything the IdP sent. Dotted paths keep their top-level claim.
 */
export function policyClaims(
  claims: Record<string, unknown>,
  config: PolicyConfig,
): Record<string, unknown> {
  const paths = [...policyClaimPaths(config), ...(config.alsoKeep ?? [])];
  const kept: Record<string, unknown> = {};
  for (const path of paths) {
    const top = Object.hasOwn(claims, path) ? path : path.split(".")[0]!;
    if (Object.hasOwn(claims, top)) kept[top] = claims[top];
  }
  return kept;
}

/** The claim paths a policy reads. */
export function policyClaimPaths(config: PolicyConfig): string[] {
  const paths = [
    "sub",
    config.oidc.usernameClaim,
    config.oidc.groupsClaim,
    config.oidc.rolesClaim,
    config.authorization.commonNameClaim,
    ...Object.keys(config.authorization.requiredClaims),
  ];
  return paths.filter((path) => path !== undefined);
}
