/**
 * From IdP claims to a verdict: extract the identity, apply [authorization], and pick the
 * client config lines. The admission step (admission.ts) calls it for the browser login, every
 * resume and every re-check, so all of them apply exactly the same rules.
 */
import type { ResolvedConfig } from "../config/types.ts";
import { safeText } from "../oidc/errors.ts";
import { authorize } from "../policy/authorize.ts";
import { claimAt, ClaimError, claimsReadFor } from "../policy/claims.ts";
import { linesForGroups } from "../policy/client_config.ts";
import { extractIdentity, type Identity } from "../policy/identity.ts";
import type { Denial } from "./denial.ts";

export type Verdict =
  | { allow: true; identity: Identity; lines: readonly string[] }
  /** `identity` when the claims named one: logs say who was denied. */
  | { allow: false; denial: Denial; identity?: Identity };

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

const MISSING_INFORMATION =
  "Your account is missing information this VPN needs; contact your administrator";

/** What a REAUTH's verdict carries as lines: it sends none (`client-auth-nt`). */
const NO_LINES: readonly string[] = Object.freeze([]);

/**
 * `withLines` false (a REAUTH, which answers `client-auth-nt`) leaves the client config lines
 * out: picking them is work done per REAUTH for nothing.
 */
export function judge(
  claims: Record<string, unknown>,
  commonName: string,
  config: PolicyConfig,
  withLines = true,
): Verdict {
  let identity: Identity;
  try {
    identity = extractIdentity(claims, config.oidc);
  } catch (error) {
    if (error instanceof ClaimError) {
      return {
        allow: false,
        denial: { code: "missing_claim", reason: MISSING_INFORMATION, logReason: error.message },
      };
    }
    throw error;
  }
  const decision = authorize(identity, claims, commonName, config.authorization);
  if (!decision.allow) {
    const absent = decision.code === "group"
      ? config.oidc.groupsClaim
      : decision.code === "role"
      ? config.oidc.rolesClaim
      : undefined;
    const hint = absent !== undefined && claimAt(claims, absent) === undefined
      ? missingClaimHint(decision.code === "group" ? "groups" : "roles", absent, claims)
      : undefined;
    return {
      allow: false,
      denial: { code: decision.code, reason: decision.reason, logReason: decision.code, hint },
      identity,
    };
  }
  const lines = withLines ? linesForGroups(config.clientConfig, identity.groups) : NO_LINES;
  return { allow: true, identity, lines };
}

const MAX_LISTED_CLAIMS = 40;

/**
 * The first problem of every new Keycloak setup: the IdP sends no groups (or roles) claim at
 * all. Says so, with the claim names that did arrive (names only: values are user data).
 */
function missingClaimHint(
  kind: "groups" | "roles",
  path: string,
  claims: Record<string, unknown>,
): string {
  const names = Object.keys(claims).slice(0, MAX_LISTED_CLAIMS).map((name) => safeText(name, 64));
  const fix = kind === "groups"
    ? 'add a group membership mapper at the IdP with "Add to ID token" on (or "Add to userinfo" with oidc.use_userinfo = true)'
    : 'turn on "Add to ID token" in the IdP\'s roles mapper (or "Add to userinfo" with oidc.use_userinfo = true)';
  return `the ${kind} claim "${path}" is missing from the token entirely (claims present: ${
    names.join(", ") || "none"
  }); likely fix: ${fix}, or request the scope that carries it in oidc.scopes`;
}

/**
 * The claims a session keeps: only those the policy reads (so it can be re-applied without the
 * IdP), not everything the IdP sent. Dotted paths keep the top-level claims they may lead
 * through (claimsReadFor).
 */
export function policyClaims(
  claims: Record<string, unknown>,
  config: PolicyConfig,
): Record<string, unknown> {
  const paths = [...policyClaimPaths(config), ...(config.alsoKeep ?? [])];
  const kept: Record<string, unknown> = {};
  for (const path of paths) {
    for (const top of claimsReadFor(claims, path)) {
      // Defined, not assigned: an own "__proto__" claim must stay a claim.
      Object.defineProperty(kept, top, {
        value: claims[top],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return kept;
}

/**
 * Claim paths the `next` policies read that the `old` ones did not. Sessions keep only the
 * claims the policies read when they signed in: judged without the IdP (reauth_check = "none"),
 * such a session lacks these claims, and a rule that requires one denies it.
 */
export function claimPathsAdded(
  old: readonly PolicyConfig[],
  next: readonly PolicyConfig[],
): string[] {
  const before = new Set(old.flatMap(policyClaimPaths));
  return [...new Set(next.flatMap(policyClaimPaths))].filter((path) => !before.has(path));
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
