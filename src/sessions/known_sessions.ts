/**
 * What this process last saw of the sessions bound to its clients, for answering a REAUTH while
 * a shared store cannot be reached (`sessions.store_unreachable = "allow"`): a Redis restart for
 * maintenance then does not disconnect every client that renegotiates meanwhile.
 *
 * It learns only from this process's own store traffic (a sign-in it completed, a REAUTH or
 * reconnect it answered), so it never knows more than this bridge itself decided. It keeps what
 * a REAUTH is judged on (session id, server, cid, common name, user name, expiry), not the
 * claims or the refresh token, and at most `limit` entries (the least recently seen go first).
 * A session deleted or unbound through this process is forgotten at once, even when the store
 * call then fails, and so is one that a logout or revoke arriving here while the store is down
 * names (forgetWhere); a session revoked by another bridge while the store is down is only
 * learnt of when it is back, which is the risk "allow" accepts.
 */
import type {
  ClientBinding,
  ListedSession,
  LiveCounts,
  PendingLogin,
  RemovedSession,
  Session,
  SessionStore,
  SweepResult,
  SweptSessionsHandler,
} from "./types.ts";

const NOTHING: readonly string[] = Object.freeze([]);
const NO_CLAIMS: Readonly<Record<string, unknown>> = Object.freeze({});

export class KnownSessions {
  readonly #byId = new Map<string, Session>();
  /** `server \0 cid` -> session id, to forget a client at DISCONNECT without the store. */
  readonly #byClient = new Map<string, string>();
  readonly #limit: number;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`Invalid known-session bound: ${limit}`);
    }
    this.#limit = limit;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The session as last seen, if it is bound to a client of this process. */
  get(sessionId: string): Session | undefined {
    return this.#byId.get(sessionId);
  }

  /** The client left (DISCONNECT), whether or not the store heard of it. */
  forgetClient(server: string, cid: number): void {
    const key = clientKey(server, cid);
    const sessionId = this.#byClient.get(key);
    if (sessionId !== undefined) this.#forget(sessionId);
  }

  /**
   * Drops every session `revoked` picks: those of a back-channel logout or an admin's revoke
   * that the store could not carry out (bridge/revocation.ts), so that none of them is admitted
   * on this record; it learns of one again only from the store. Returns how many were dropped.
   */
  forgetWhere(revoked: (session: Session) => boolean): number {
    const ids = [...this.#byId.values()].filter(revoked).map((session) => session.sessionId);
    for (const id of ids) this.#forget(id);
    return ids.length;
  }

  /** A store that keeps this record up to date as sessions pass through it. */
  watch(store: SessionStore): SessionStore {
    return new WatchedStore(store, this);
  }

  /** Called by WatchedStore after a session was read or written through it. */
  seen(session: Session): void {
    this.#remember(session);
  }

  /** Called by WatchedStore before a session is unbound or deleted through it. */
  gone(sessionId: string): void {
    this.#forget(sessionId);
  }

  #remember(session: Session): void {
    if (session.cid === undefined) {
      this.#forget(session.sessionId);
      return;
    }
    const known = this.#byId.get(session.sessionId);
    // The REAUTH path reads the same session again and again: no new entry when nothing moved.
    if (
      known !== undefined && known.cid === session.cid && known.server === session.server &&
      known.expiresAt === session.expiresAt && known.commonName === session.commonName &&
      known.username === session.username
    ) {
      return;
    }
    if (known !== undefined) this.#forget(session.sessionId);
    this.#byId.set(
      session.sessionId,
      Object.freeze({
        ...session,
        groups: NOTHING,
        roles: NOTHING,
        claims: NO_CLAIMS,
        refreshToken: undefined,
      }) as Session,
    );
    this.#byClient.set(clientKey(session.server, session.cid), session.sessionId);
    if (this.#byId.size > this.#limit) {
      const oldest = this.#byId.keys().next().value;
      if (oldest !== undefined) this.#forget(oldest);
    }
  }

  #forget(sessionId: string): void {
    const known = this.#byId.get(sessionId);
    if (known === undefined) return;
    this.#byId.delete(sessionId);
    const key = clientKey(known.server, known.cid!);
    if (this.#byClient.get(key) === sessionId) this.#byClient.delete(key);
  }
}

function clientKey(server: string, cid: number): string {
  return `${server}\u0000${cid}`;
}

/** Passes every call through to `store`, telling `known` about the sessions it sees. */
class WatchedStore implements SessionStore {
  readonly #store: SessionStore;
  readonly #known: KnownSessions;

  constructor(store: SessionStore, known: KnownSessions) {
    this.#store = store;
    this.#known = known;
  }

  exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.#store.exclusive(name, work);
  }

  async putSession(session: Session): Promise<void> {
    if (session.cid === undefined) this.#known.gone(session.sessionId);
    await this.#store.putSession(session);
    this.#known.seen(session);
  }

  async updateSession(session: Session): Promise<boolean> {
    if (session.cid === undefined) this.#known.gone(session.sessionId);
    const updated = await this.#store.updateSession(session);
    if (updated) this.#known.seen(session);
    else this.#known.gone(session.sessionId);
    return updated;
  }

  async getSession(sessionId: string): Promise<Session | undefined> {
    const session = await this.#store.getSession(sessionId);
    if (session === undefined) this.#known.gone(sessionId);
    else this.#known.seen(session);
    return session;
  }

  deleteSession(sessionId: string): Promise<RemovedSession | undefined> {
    this.#known.gone(sessionId);
    return this.#store.deleteSession(sessionId);
  }

  putPending(login: PendingLogin): Promise<void> {
    return this.#store.putPending(login);
  }
  updatePending(login: PendingLogin): Promise<boolean> {
    return this.#store.updatePending(login);
  }
  getPending(id: string): Promise<PendingLogin | undefined> {
    return this.#store.getPending(id);
  }
  takePending(id: string): Promise<PendingLogin | undefined> {
    return this.#store.takePending(id);
  }
  deletePending(id: string): Promise<boolean> {
    return this.#store.deletePending(id);
  }
  deletePendingByCid(server: string, cid: number): Promise<number> {
    return this.#store.deletePendingByCid(server, cid);
  }
  pendingPages(): AsyncGenerator<PendingLogin[]> {
    return this.#store.pendingPages();
  }
  findSessionIdByCid(server: string, cid: number): Promise<string | undefined> {
    return this.#store.findSessionIdByCid(server, cid);
  }
  findSessionsBySid(sid: string): Promise<Session[]> {
    return this.#store.findSessionsBySid(sid);
  }
  get liveSids(): SessionStore["liveSids"] {
    const store = this.#store;
    return store.liveSids && ((sids) => store.liveSids!(sids));
  }
  findSessionsBySubject(subject: string): Promise<Session[]> {
    return this.#store.findSessionsBySubject(subject);
  }
  findSessionsByUsername(username: string): Promise<Session[]> {
    return this.#store.findSessionsByUsername(username);
  }
  sessionPages(): AsyncGenerator<ListedSession[]> {
    return this.#store.sessionPages();
  }
  listBindings(server: string): Promise<ClientBinding[]> {
    return this.#store.listBindings(server);
  }
  countLive(server: string): Promise<LiveCounts> {
    return this.#store.countLive(server);
  }
  sweep(now: number, onSwept?: SweptSessionsHandler): Promise<SweepResult> {
    return this.#store.sweep(now, onSwept);
  }
  close(): Promise<void> {
    return this.#store.close();
  }
}
