/**
 * oauth4webapi holds an ID token's `exp` and `nbf` to oidc.clock_tolerance but takes an `iat`
 * from any future: an IdP whose clock runs hours ahead would sign users in with tokens it says
 * it has not issued yet. Refused here by nbf's rule (and jose's for logout tokens, which
 * logout_token.ts gets from `maxTokenAge`): more than the tolerance ahead of this host's clock.
 */
import { idTokenRefused } from "./error_mapping.ts";
import { timeClaimAdvice } from "./time_claim_advice.ts";

/**
 * Throws the OidcError of a refused ID token when `iat` is more than `toleranceSec` ahead of
 * `nowSec` (this host's clock, in whole seconds as oauth4webapi reads it).
 */
export function checkIssuedAt(
  stage: "code_exchange" | "refresh",
  iat: number,
  nowSec: number,
  toleranceSec: number,
): void {
  if (iat <= nowSec + toleranceSec) return;
  const advice = timeClaimAdvice({ claim: "iat", valueSec: iat, nowSec, toleranceSec });
  throw idTokenRefused(stage, `"iat" (issued at) is in the future; ${advice}`);
}
