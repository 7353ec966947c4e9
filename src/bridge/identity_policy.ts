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
import { type GroupNearMiss, groupNearMiss, inAnyGroup } from "../policy/groups.ts";
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
    const nearMiss = decision.code === "group"
      ? groupNearMiss(config.authorization.allowedGroups, identity.groups)
      : undefined;
    const hint = absent !== undefined && claimAt(claims, absent) === undefined
      ? missingClaimHint(decision.code === "group" ? "groups" : "roles", absent, claims)
      : nearMiss && groupFormHint(nearMiss, "allowed_groups");
    return {
      allow: false,
      denial: { code: decision.code, reason: decision.reason, logReason: decision.code, hint },
      identity,
    };
  }
  const lines = withLines ? linesForGroups(config.clientConfig, identity.groups) : NO_LINES;
  return { allow: true, identity, lines };
}

/**
 * Why a user admitted at sign-in gets no lines from a `[[client_config]]` rule that may be meant
 * for them, for the log, or `undefined`: a rule's group the token has only in another form
 * (groupNearMiss), or a groups claim sent as a distributed claim (missingClaimHint). Lines
 * missing that way (a fixed address, a route) had no denial to hang a hint on. At sign-in only:
 * the work is per rule, and a REAUTH sends no lines.
 */
export function clientConfigHint(
  claims: Record<string, unknown>,
  groups: readonly string[],
  config: PolicyConfig,
): string | undefined {
  const rules = config.clientConfig;
  if (rules.length === 0) return undefined;
  const path = config.oidc.groupsClaim;
  if (claimAt(claims, path) === undefined && distributedAs(claims, path) !== undefined) {
    return missingClaimHint("groups", path, claims);
  }
  for (const rule of rules) {
    if (inAnyGroup(rule.groups, groups)) continue;
    const nearMiss = groupNearMiss(rule.groups, groups);
    if (nearMiss !== undefined) return groupFormHint(nearMiss, "a [[client_config]] rule");
  }
  return undefined;
}

/**
 * A user who has a configured group (of `setting`) in another form only (the IdP's path setting,
 * or a nested group written by its name): the log says which, as nothing else tells the two
 * apart. It does not suggest a bare name: with "Full group path" off that matches any depth. The
 * group names shown are the configured one and parts of it: no claim value the config does not
 * hold.
 */
function groupFormHint({ configured, form }: GroupNearMiss, setting: string): string {
  const allowed = `${setting} has ${JSON.stringify(configured)}`;
  switch (form) {
    case "no leading slash": {
      const bare = JSON.stringify(configured.slice(1));
      return `groups claim has ${bare}; ${allowed}, which matches only that full path (Keycloak's "Full group path" off in the group mapper?)`;
    }
    case "nested":
      return `groups claim has ${
        JSON.stringify(`.../${configured}`)
      }; ${allowed}, which never matches a group nested in another: write the group's full path`;
    case "last name only": {
      const lastName = JSON.stringify(configured.slice(configured.lastIndexOf("/") + 1));
      return `groups claim has ${lastName}; ${allowed}, a path, which never matches a bare name (Keycloak's "Full group path" off in the group mapper?)`;
    }
  }
}

/** Claim names (or key names of an object claim) a hint lists at most. */
const MAX_LISTED_NAMES = 40;

/**
 * The first problem of every new Keycloak setup: the IdP sends no groups (or roles) claim at
 * all. But Keycloak also leaves the claim out for a user who has none (no `groups` for a user in
 * no group, no `resource_access.<client>` for one without roles of that client), so: when part
 * of the path arrived (`resource_access`), the mapper works and the user has none, or the path
 * is misspelt; when nothing did, the hint allows for both. Names only (configured paths, claim
 * and key names): values are user data.
 */
function missingClaimHint(
  kind: "groups" | "roles",
  path: string,
  claims: Record<string, unknown>,
): string {
  const key = kind === "groups" ? "oidc.groups_claim" : "oidc.roles_claim";
  const distributed = distributedAs(claims, path);
  if (distributed !== undefined) {
    const entra = kind === "groups"
      ? ': Microsoft Entra ID does this for a user in more than 200 groups (its "group overage"); have it send only the groups assigned to the application (the app registration\'s groups claim), or judge by app roles (oidc.roles_claim = "roles")'
      : "";
    const as = distributed === path ? "" : ` as ${JSON.stringify(distributed)}`;
    return `the ${kind} claim "${path}" is a distributed claim (named in _claim_names${as}, its value held at another endpoint), which is not fetched: it counts as absent${entra}`;
  }
  const arrived = presentPrefix(claims, path);
  if (arrived !== undefined) {
    const client = arrived === "resource_access" && path.endsWith(".roles")
      ? path.slice(arrived.length + 1, -".roles".length)
      : "";
    if (client !== "") {
      // Other clients' ids are left out: which applications a user has roles in is theirs.
      return `the user has no roles of client "${client}" ("${arrived}" arrived without it; the mapper works), or the client id in ${key} is wrong: it must be the client's Client ID at the IdP`;
    }
    // Keycloak leaves an empty realm_access out entirely: a parent that arrived without the
    // last part of the path is more likely a misspelt path than a user without any.
    const parent = claimAt(claims, arrived);
    const contents = typeof parent === "object" && parent !== null && !Array.isArray(parent)
      ? ` (its keys: ${listNames(Object.keys(parent))})`
      : ` (not as an object but as a ${Array.isArray(parent) ? "list" : typeof parent})`;
    const keycloak = kind === "groups"
      ? "groups"
      : "realm_access.roles, resource_access.<client>.roles";
    return `the ${kind} claim "${path}" is absent though "${arrived}" arrived${contents}: check ${key} for a misspelt path (Keycloak: ${keycloak}), else the user has no ${kind}`;
  }
  const names = listNames(Object.keys(claims));
  const [none, fix] = kind === "groups"
    ? [
      "a user in no group",
      'add a group membership mapper at the IdP with "Add to ID token" on (or "Add to userinfo" with oidc.use_userinfo = true)',
    ]
    : [
      "a user without such roles",
      'turn on "Add to ID token" in the IdP\'s roles mapper (or "Add to userinfo" with oidc.use_userinfo = true)',
    ];
  return `the ${kind} claim "${path}" is missing from the token (claims present: ${names}); Keycloak leaves it out for ${none}, but if every user is denied this way, likely fix: ${fix}, or request the scope that carries it in oidc.scopes`;
}

/**
 * Names (never values) as a bounded, printable list, each quoted: they are the IdP's data in a
 * hint the log writes into its sentence (denial_log.ts); "none" when there are none.
 */
function listNames(names: readonly string[]): string {
  if (names.length === 0) return "none";
  const listed = names.slice(0, MAX_LISTED_NAMES).map((name) => JSON.stringify(safeText(name, 64)));
  const more = names.length - listed.length;
  return listed.join(", ") + (more > 0 ? ` and ${more} more` : "");
}

/**
 * The name under which `_claim_names` lists the claim at `path` (the path itself or one of its
 * dotted prefixes), if it does: an OpenID Connect distributed claim (Core 5.6.2), left out of
 * the token and named there with a source to fetch it from. Only claims the IdP signed into the
 * ID token or sent as userinfo are judged; fetching from a source the token names is not done.
 */
function distributedAs(claims: Record<string, unknown>, path: string): string | undefined {
  const names = claims["_claim_names"];
  if (typeof names !== "object" || names === null || Array.isArray(names)) return undefined;
  return Object.keys(names).find((name) => path === name || path.startsWith(`${name}.`));
}

/** The longest dotted prefix of `path` that `claims` has (as claimAt reads it), if any. */
function presentPrefix(claims: Record<string, unknown>, path: string): string | undefined {
  for (let dot = path.lastIndexOf("."); dot > 0; dot = path.lastIndexOf(".", dot - 1)) {
    const prefix = path.slice(0, dot);
    if (claimAt(claims, prefix) !== undefined) return prefix;
  }
  return undefined;
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
