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

/** What the limit does to `session`, given the user's other sessions in `store`. */
export async function excessSessions(
  store: Pick<SessionStore, "findSessionsBySubject">,
  limit: SessionLimit | undefined,
  session: Session,
): Promise<{ refused: true } | { refused: false; end: Session[] }> {
  if (!limit) return { refused: false, end: [] };
  const others = (await store.findSessionsBySubject(session.subject))
    .filter((other) => other.sessionId !== session.sessionId);
  return limitOutcome(others, limit);
}
