/**
 * `sessions.max_per_user`: how many sessions one IdP subject may hold at once. Pure: given the
 * user's other live sessions, which must end for a new login to fit.
 */
import type { SessionsConfig } from "../config/types.ts";
import type { Session, SessionStore } from "../sessions/types.ts";

export type SessionLimitAction = SessionsConfig["maxPerUserAction"];

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

/** The user's other sessions that must end for `session` to fit; none without a limit. */
export async function excessSessions(
  store: Pick<SessionStore, "findSessionsBySubject">,
  limit: SessionLimit | undefined,
  session: Session,
): Promise<Session[]> {
  if (!limit) return [];
  const others = (await store.findSessionsBySubject(session.subject))
    .filter((other) => other.sessionId !== session.sessionId);
  return sessionsOverLimit(others, limit.maxPerUser);
}
