/**
 * What the control socket's commands do: list sessions and sign-ins in progress, revoke
 * sessions (ended as back-channel logout ends them). No tokens, login ids or OAuth state ever
 * leave through here.
 */
import type { Revocation } from "../bridge/revocation.ts";
import type { ListedSession, PendingLogin, SessionStore } from "../sessions/types.ts";
import type { ControlAnswer, ControlRequest, LoginRow, SessionRow } from "./protocol.ts";

export interface ControlDeps {
  store: Pick<SessionStore, "sessionPages" | "pendingPages">;
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
): Promise<ControlAnswer> {
  // Lists are not sorted here: sorting 100,000 rows held the event loop up to 88 ms. The admin
  // command sorts what it prints. Nor held whole: each page is written as it is read.
  switch (request.command) {
    case "sessions.list":
      return {
        ok: true,
        list: "sessions",
        pages: await rowPages(deps.store.sessionPages(), sessionRow),
      };
    case "logins.list": {
      const now = deps.now();
      return {
        ok: true,
        list: "logins",
        pages: await rowPages(deps.store.pendingPages(), (login) => loginRow(login, now)),
      };
    }
    case "sessions.revoke": {
      const { ended, stillConnected } = await deps.revocation.revoke(request.target);
      return { ok: true, ended, stillConnected };
    }
  }
}

/**
 * The rows of `pages`, a page at a time. The first page is read here, so that a store that
 * cannot be read is answered with an error; one that fails later cuts the answer short.
 */
async function rowPages<T, R>(
  pages: AsyncGenerator<T[]>,
  row: (item: T) => R,
): Promise<AsyncIterable<R[]>> {
  const first = await pages.next();
  return (async function* () {
    if (first.done) return;
    yield first.value.map(row);
    for await (const page of pages) yield page.map(row);
  })();
}
