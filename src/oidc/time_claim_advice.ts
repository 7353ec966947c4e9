/**
 * What the operator reads when a token is refused for one of its times (`iat`, `exp`, `nbf`):
 * jose's and oauth4webapi's messages say only that a check failed, which reads as the IdP's
 * fault, while the usual cause is a clock, the IdP's or this host's, that is off. One wording
 * for the ID tokens (error_mapping.ts) and the logout tokens (logout_token.ts).
 */

export interface RefusedTime {
  claim: "iat" | "exp" | "nbf";
  /** The claim's value and this host's time, both in seconds since the epoch. */
  valueSec: number;
  nowSec: number;
  /** oidc.clock_tolerance, when the failed check allowed for it. */
  toleranceSec: number | undefined;
  /** For `iat` checked against an age: the oldest taken, in seconds. */
  maxAgeSec?: number;
}

/**
 * E.g. "iat is 120 s ahead of this host's clock: the IdP's or this host's clock is off (NTP), or
 * raise oidc.clock_tolerance (now 30 s)".
 */
export function timeClaimAdvice(refused: RefusedTime): string {
  const { claim, maxAgeSec, toleranceSec } = refused;
  const ahead = Math.round(refused.valueSec - refused.nowSec);
  const where = ahead > 0
    ? `${claim} is ${ahead} s ahead of this host's clock`
    : claim === "iat"
    ? `iat is ${-ahead} s old by this host's clock` +
      (maxAgeSec === undefined ? "" : ` (at most ${maxAgeSec} s taken)`)
    : `${claim} is ${-ahead} s past by this host's clock`;
  const raise = toleranceSec === undefined
    ? ""
    : `, or raise oidc.clock_tolerance (now ${toleranceSec} s)`;
  return `${where}: the IdP's or this host's clock is off (NTP)${raise}`;
}

/** The time claims this advice is for; anything else (auth_time, a custom claim) is not. */
export function isTimeClaim(claim: unknown): claim is RefusedTime["claim"] {
  return claim === "iat" || claim === "exp" || claim === "nbf";
}
