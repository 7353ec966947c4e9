/**
 * What the operator reads when a sign-in is refused because its ID token has no `auth_time`
 * while `authorize_params` asks for it (`prompt=login`, checked in client.ts; `max_age`, checked
 * by oauth4webapi and mapped in error_mapping.ts). Keycloak 25 and later add `auth_time` through
 * the client's default client scope `basic`: for a client without it every such sign-in is
 * refused, and oauth4webapi's "claim missing" does not say where to look.
 */
import * as oauth from "oauth4webapi";

/** The parameter that made auth_time required. */
export type AuthTimeParameter = "prompt=login" | "max_age";

export function missingAuthTimeAdvice(parameter: AuthTimeParameter): string {
  return `authorize_params has ${parameter}, but the IdP sent no auth_time ` +
    "(Keycloak: is the client's `basic` client scope missing?)";
}

/**
 * Whether oauth4webapi refused an ID token for lacking `auth_time`: it names the claim only in
 * its message, and keeps the claims in its cause, where auth_time must indeed be absent.
 */
export function isMissingAuthTime(error: unknown): boolean {
  if (!(error instanceof oauth.OperationProcessingError)) return false;
  if (error.code !== oauth.INVALID_RESPONSE) return false;
  const claims = (error.cause as { claims?: unknown } | undefined)?.claims;
  if (typeof claims !== "object" || claims === null) return false;
  return (claims as Record<string, unknown>).auth_time === undefined &&
    /^JWT "auth_time" .*claim missing$/.test(error.message);
}
