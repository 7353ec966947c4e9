/**
 * What the control socket's commands do: list sessions and sign-ins in progress, revoke
 * sessions (ended as back-channel logout ends them). No tokens, login ids or OAuth state ever
 * leave through here.
 */
import type { Revocation } from "../bridge/revocation.ts";
import type { ListedSession, PendingLogin, SessionStore } from "../sessions/types.ts";
import type { ControlRequest, ControlResponse, LoginRow, SessionRow } from "./protocol.ts";

export interface ControlDeps {
  store: Pick<SessionStore, "listSessions" | "listPending">;
  revocation: Pick<Revocation, "revoke">;
  now: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function sessionRow(session: ListedSession): SessionRow {
  return {
    sessionId: session.sessionId,
    username: session.username,
    subject: session.subject,
    server: session.server,
    cid: session.cid ?? null,
    commonName: session.commonName,
    clientIp: session.clientIp ?? null,
    createdAt: iso(session.createdAt),
    lastAuthAt: iso(session.lastAuthAt),
    expiresAt: iso(session.expiresAt),
  };
}

function loginRow(login: PendingLogin, now: number): LoginRow {
  return {
    server: login.server,
    cid: login.cid,
    commonName: login.commonName,
    clientIp: login.clientIp,
    ageSec: Math.max(0, Math.floor((now - login.createdAt) / 1000)),
    createdAt: iso(login.createdAt),
  };
}

export async function handleControlRequest(
  request: ControlRequest,
  deps: ControlDeps,
): Promise<ControlResponse> {
  switch (request.command) {
    case "sessions.list": {
      const sessions = await deps.store.listSessions();
      sessions.sort((a, b) => a.createdAt - b.createdAt);
      return { ok: true, sessions: sessions.map(sessionRow) };
    }
    case "logins.list": {
      const now = deps.now();
      const logins = await deps.store.listPending();
      logins.sort((a, b) => a.createdAt - b.createdAt);
      return { ok: true, logins: logins.map((login) => loginRow(login, now)) };
    }
    case "sessions.revoke":
      return { ok: true, ended: await deps.revocation.revoke(request.target) };
  }
}
