/**
 * What to answer a CONNECT or REAUTH while the session store cannot be reached, as one pure
 * function over the decision table (decide.ts). A new sign-in or a reconnect fails closed; a
 * REAUTH is judged on `known`, what this process last saw of the session, when
 * `sessions.store_unreachable = "allow"` gave it one: accepted without re-check or write-back
 * (neither could be stored), or denied for the table's own reasons.
 */
import type { Session } from "../sessions/types.ts";
import { type ClientRequest, decide, type DecideOptions, type Decision } from "./decide.ts";
import { STORE_UNAVAILABLE } from "./denial.ts";

export type OutageDecision =
  | { action: "bypass" }
  | { action: "accept_known"; session: Session }
  | Extract<Decision, { action: "deny" }>;

export function decideWithoutStore(
  request: ClientRequest,
  known: Session | undefined,
  options: Omit<DecideOptions, "reauthCheck">,
): OutageDecision {
  const usable = request.kind === "reauth" ? known : undefined;
  const decision = decide(request, usable, { ...options, reauthCheck: "none" });
  if (decision.action === "bypass") return decision;
  if (decision.action === "resume" && usable !== undefined) {
    return { action: "accept_known", session: usable };
  }
  // Nothing can be ended without the store (decision.ends).
  if (decision.action === "deny" && usable !== undefined) {
    return { action: "deny", denial: decision.denial };
  }
  return { action: "deny", denial: STORE_UNAVAILABLE };
}
