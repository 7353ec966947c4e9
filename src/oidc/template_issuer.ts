/**
 * Microsoft Entra ID's multi-tenant endpoints (`/common`, `/organizations`, `/consumers`) publish
 * a discovery document whose issuer is a template: `https://login.microsoftonline.com/{tenantid}/v2.0`.
 * Each token then names its own tenant, so no one issuer checks them all, and the template itself,
 * set as `oidc.issuer`, names no discovery document (Entra refuses `/%7Btenantid%7D/v2.0/...`).
 * So "set oidc.issuer to the document's issuer" is the wrong advice for it.
 */

/** The advice for a discovery document whose issuer is `issuer`, when that is a template. */
export function templateIssuerAdvice(issuer: string): string | undefined {
  if (!/\{[^{}]*\}/.test(issuer)) return undefined;
  return "a template of a multi-tenant endpoint (Entra ID's common, organizations or " +
    "consumers), which is not supported: set oidc.issuer to one tenant's own issuer, " +
    "https://login.microsoftonline.com/<tenant-id>/v2.0";
}
