/**
 * `sessions.max_per_user`: how many sessions one IdP subject may hold at once. Pure: given the
 * user's other live sessions, which must end for a new login to fit.
 */
import type { SessionsConfig } from "../config/types.ts";
import type { Session, SessionStore } from "../sessions/types.ts";
import type { EndReason } from "./session_end.ts";

export type SessionLimitAction = SessionsConfig["maxPerUserAction"];

/**
 * Why the limit ends a session: over the limit (`max-per-user`), or the earlier session of the
 * device signing in again (`replaced`, replacedBy). Apart, so that an operator reading the
 * audit log tells a user at the limit from one who reconnected after a crash.
 */
export type LimitEndReason = Extract<EndReason, "max-per-user" | "replaced">;

export interface SessionLimit {
  /** 0 means no limit. */
  maxPerUser: number;
  action: SessionLimitAction;
}

/**
 * The sessions that must go for one more to fit under `maxPerUser`, oldest login first
 * (ties by session id, so the choice does not depend on store order). Empty when unlimited.
 */
export function sessionsOverLimit(others: readonly Session[], maxPerUser: number): Session[] {
  if (maxPerUser <= 0) return [];
  const excess = others.length + 1 - maxPerUser;
  if (excess <= 0) return [];
  return [...others]
    .sort((a, b) => a.createdAt - b.createdAt || (a.sessionId < b.sessionId ? -1 : 1))
    .slice(0, excess);
}

/**
 * What one more session does to a user's `others` under `limit`: the sessions to end for it to
 * fit, or refused (deny_new). Only sessions a client holds now refuse it: one whose client left
 * (kept so that a client with OpenVPN's token could come back) ends instead, or a user who quit
 * the client and signed in again was refused until that session expired, 12 hours by default.
 */
export function limitOutcome(
  others: readonly Session[],
  limit: SessionLimit,
): { refused: true } | { refused: false; end: Session[] } {
  if (limit.action === "kill_oldest") {
    return { refused: false, end: sessionsOverLimit(others, limit.maxPerUser) };
  }
  if (limit.maxPerUser <= 0) return { refused: false, end: [] };
  const held = others.filter((other) => other.cid !== undefined);
  if (held.length + 1 > limit.maxPerUser) return { refused: true };
  const idle = others.filter((other) => other.cid === undefined);
  return { refused: false, end: sessionsOverLimit(idle, limit.maxPerUser - held.length) };
}

/**
 * Whether `other` is the earlier session of the device that signs in with `session`: the same
 * certificate name (a client without a certificate has none: "") on the same server. A client
 * that crashed (no exit notification) keeps its instance at OpenVPN until its ping timeout, 120 s
 * with `keepalive 10 60`, and under deny_new it refused the same device's new sign-in that long;
 * without `duplicate-cn` OpenVPN itself drops the older instance of a common name once the new
 * one is established. With `duplicate-cn`, two devices sharing one certificate replace each
 * other rather than the second being refused.
 */
export function replacedBy(session: Session, other: Session): boolean {
  return session.commonName !== "" && other.commonName === session.commonName &&
    other.server === session.server;
}

/**
 * What the limit does to `session`, given the user's other sessions in `store`. Those it
 * replaces (replacedBy) do not count: they end, with the sessions over the limit.
 */
export async function excessSessions(
  store: Pick<SessionStore, "findSessionsBySubject">,
  limit: SessionLimit | undefined,
  session: Session,
): Promise<{ refused: true } | { refused: false; end: Session[] }> {
  if (!limit || limit.maxPerUser <= 0) return { refused: false, end: [] };
  const others = (await store.findSessionsBySubject(session.subject))
    .filter((other) => other.sessionId !== session.sessionId);
  const replaced = others.filter((other) => replacedBy(session, other));
  const outcome = limitOutcome(others.filter((other) => !replacedBy(session, other)), limit);
  return outcome.refused ? outcome : { refused: false, end: [...replaced, ...outcome.end] };
}
