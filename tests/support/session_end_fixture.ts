/**
 * A SessionEnd over a store for unit tests: every client it kills is recorded by a
 * RecordingCommander, and every refresh token it revokes at the IdP is kept in `revoked`.
 */
import { KeyedLock } from "../../src/bridge/keyed_lock.ts";
import { SessionEnd, type SessionEndDeps } from "../../src/bridge/session_end.ts";
import { getLogger } from "../../src/log.ts";
import { RecordingCommander } from "./recording_commander.ts";

export function recordingSessionEnd(
  store: SessionEndDeps["store"],
  deps: Partial<SessionEndDeps> = {},
): { end: SessionEnd; revoked: string[] } {
  const revoked: string[] = [];
  const end = new SessionEnd({
    store,
    commanders: () => new RecordingCommander(),
    oidc: {
      revoke: (token) => {
        revoked.push(token);
        return Promise.resolve();
      },
    },
    sessionLock: new KeyedLock(),
    log: getLogger("test"),
    now: Date.now,
    ...deps,
  });
  return { end, revoked };
}
