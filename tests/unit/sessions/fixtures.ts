import { copyFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import type {
  ListedSession,
  PendingLogin,
  Session,
  SessionStore,
  SweptSession,
} from "../../../src/sessions/types.ts";
import { testPendingLogin, testSession } from "../../support/client_events_fixture.ts";
import { assert, assertEquals } from "../../support/assert.ts";
import { logsOf } from "../../support/log_capture.ts";

export const T0 = 1_700_000_000_000;
export const MINUTE = 60_000;

/** The bridge tests' pending login (testPendingLogin) with its OAuth secrets set. */
export function pendingLogin(overrides: Partial<PendingLogin> = {}): PendingLogin {
  return testPendingLogin({
    id: "p-1",
    server: "vpn1",
    cid: 7,
    commonName: "alice-laptop",
    username: "alice",
    clientIp: "192.0.2.10",
    clientPort: 51234,
    sessionId: "sess-1",
    createdAt: T0,
    expiresAt: T0 + 5 * MINUTE,
    oauth: {
      state: "state-1",
      nonce: "nonce-1",
      codeVerifier: "verifier-1",
      browserBinding: "binding-1",
    },
    ...overrides,
  });
}

/**
 * The bridge tests' session (testSession) with every optional field set, so that the stores'
 * tests see each one written and read back.
 */
export function session(overrides: Partial<Session> = {}): Session {
  return testSession({
    sessionId: "sess-1",
    server: "vpn1",
    cid: 7,
    commonName: "alice-laptop",
    groups: ["vpn-users", "staff"],
    roles: ["user"],
    claims: { sub: "u-1", email: "alice@example.com", nested: { list: [1, "two", null] } },
    sid: "sso-1",
    refreshToken: "refresh-token-1",
    refreshExpiresAt: T0 + 30 * MINUTE,
    createdAt: T0,
    lastAuthAt: T0,
    expiresAt: T0 + 8 * 60 * MINUTE,
    ...overrides,
  });
}

/** session(overrides) as a listing returns it: without the refresh token (ListedSession). */
export function listed(overrides: Partial<Session> = {}): ListedSession {
  const { refreshToken: _, ...rest } = session(overrides);
  return rest;
}

function byId(a: { sessionId: string }, b: { sessionId: string }): number {
  return a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0;
}

export function sortSessions<T extends { sessionId: string }>(sessions: T[]): T[] {
  return [...sessions].sort(byId);
}

/** The sessions in the database file alone, without its WAL (a copy opened on its own). */
export function sessionsInMainFile(path: string, dir: string): string[] {
  const copy = `${dir}/main-only.db`;
  copyFileSync(path, copy);
  const db = new DatabaseSync(copy, { readOnly: true });
  try {
    // Even the tables may still be in the WAL alone.
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").get();
    if (table === undefined) return [];
    return db.prepare("SELECT session_id FROM sessions ORDER BY session_id").all()
      .map((row) => String(row["session_id"]));
  } finally {
    db.close();
  }
}

/**
 * A store's sweep, at T0 + 2 minutes, of session b, whose stored token `copyAToB` replaced with
 * session a's: b's entry goes, but a token sealed to a is not b's to hand on; one warning, naming
 * no token, says so. Returns once that is checked; the caller checks that b's entry is gone.
 */
export async function sweepsCopiedTokenUnhanded(
  store: Pick<SessionStore, "putSession" | "sweep">,
  copyAToB: () => unknown,
): Promise<void> {
  await store.putSession(session({ sessionId: "a", refreshToken: "token-a" }));
  await store.putSession(
    session({ sessionId: "b", refreshToken: "token-b", expiresAt: T0 + MINUTE }),
  );
  await copyAToB();
  const handedOn: SweptSession[] = [];
  const logs = await logsOf(async () => {
    const result = await store.sweep(T0 + 2 * MINUTE, (sessions) => {
      handedOn.push(...sessions);
      return Promise.resolve();
    });
    assertEquals(result, { pending: 0, sessions: 1 });
  });
  assertEquals(handedOn, []);
  // Redis's sweep also warns that T0 is far from its clock (redis_clock.ts): not this warning.
  const about = logs.filter((line) => !line.text.startsWith("This host's clock"));
  assertEquals(about.map((line) => line.level), ["warning"]);
  assert(!JSON.stringify(logs).includes("token-"), JSON.stringify(logs));
}
