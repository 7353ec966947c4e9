/**
 * A SessionStore in Maps, for tests and throw-away setups: everything is lost when the process
 * ends. Refresh tokens stay unencrypted, as they never leave the process.
 */
import { ClientIndex } from "./client_index.ts";
import {
  checkPendingLogin,
  checkSession,
  sameBrowserOrUnbound,
  samePendingKeys,
} from "./entry_check.ts";
import { LIST_CHUNK } from "./list_chunk.ts";
import { nextTurn } from "../next_turn.ts";
import { removableBefore } from "./pending_grace.ts";
import { listedSession } from "./session_data.ts";
import { SharedValues } from "./shared_values.ts";
import { checkMaxEntries, type StoreBounds, StoreFullReporter } from "./store_full.ts";
import type {
  ClientBinding,
  ListedSession,
  LiveCounts,
  PendingLogin,
  RemovedSession,
  Session,
  SessionStore,
  StoreTable,
  SweepResult,
  SweptSession,
  SweptSessionsHandler,
} from "./types.ts";
import { storeClosedError } from "./store_closed.ts";

export type MemoryStoreOptions = StoreBounds;

interface Expiring {
  expiresAt: number;
}

/** An entry the client index knows: its key, and the client it is bound to (if any). */
interface Indexed extends Expiring {
  server: string;
  cid?: number | undefined;
}

/**
 * Entries whose `expiresAt` lies before `now()` are absent to every read even before `sweep`
 * removes them; deletes report what they removed, expired or not.
 */
export class MemoryStore implements SessionStore {
  readonly #pending = new Map<string, PendingLogin>();
  readonly #sessions = new Map<string, Session>();
  /** Pending logins and bound sessions by client: a DISCONNECT reads these, not every entry. */
  readonly #pendingByClient = new ClientIndex();
  readonly #sessionsByClient = new ClientIndex();
  readonly #shared = new SharedValues();
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #full: StoreFullReporter;
  /**
   * Per table, no entry expires before this: exact after a sweep, lowered by every write (an
   * entry whose expiry moved later leaves it a lower bound). -Infinity: not known yet.
   */
  readonly #noneExpireBefore: Record<StoreTable, number> = {
    pending: -Infinity,
    sessions: -Infinity,
  };
  /**
   * Sweeps under way over several turns (#sweepSessions), each with the earliest expiry among
   * the entries it kept or that were written since it began: `#noneExpireBefore` once it ends.
   */
  readonly #passes = new Set<{ table: StoreTable; earliest: number }>();
  #closed = false;

  constructor(options: MemoryStoreOptions) {
    this.#maxEntries = checkMaxEntries(options.maxEntries);
    this.#now = options.now ?? Date.now;
    this.#full = new StoreFullReporter(this.#now);
  }

  putPending(login: PendingLogin): Promise<void> {
    return this.#run(() => {
      const copy = Object.freeze(checkPendingLogin(login, { ownStrings: true }));
      this.#makeRoom("pending", this.#pending, copy.id);
      this.#setPending(copy);
    });
  }

  updatePending(login: PendingLogin): Promise<boolean> {
    return this.#run(() => {
      const copy = Object.freeze(checkPendingLogin(login, { ownStrings: true }));
      const current = this.#live(this.#pending.get(copy.id));
      if (current === undefined || !samePendingKeys(current, copy)) return false;
      if (!sameBrowserOrUnbound(current, copy)) return false;
      this.#setPending(copy);
      return true;
    });
  }

  getPending(id: string): Promise<PendingLogin | undefined> {
    return this.#run(() => this.#live(this.#pending.get(id)));
  }

  /** A login past its deadline is left for the deadline's delete (it denies the client). */
  takePending(id: string): Promise<PendingLogin | undefined> {
    return this.#run(() => {
      const login = this.#live(this.#pending.get(id));
      if (login !== undefined) this.#deletePending(id);
      return login;
    });
  }

  deletePending(id: string): Promise<boolean> {
    return this.#run(() => this.#deletePending(id));
  }

  deletePendingByCid(server: string, cid: number): Promise<number> {
    return this.#run(() => {
      let deleted = 0;
      for (const id of this.#pendingByClient.ids(server, cid)) {
        if (this.#deletePending(id)) deleted++;
      }
      return deleted;
    });
  }

  /** This process's own: nobody else runs work on it. */
  exclusive<T>(_name: string, work: () => Promise<T>): Promise<T> {
    return work();
  }

  putSession(session: Session): Promise<void> {
    return this.#run(() => this.#setSession(session));
  }

  updateSession(session: Session): Promise<boolean> {
    return this.#run(() => {
      const current = this.#live(this.#sessions.get(session.sessionId));
      if (current === undefined || current.createdAt !== session.createdAt) return false;
      this.#setSession(session);
      return true;
    });
  }

  #setSession(session: Session): void {
    const copy = Object.freeze(checkSession(session, { ownStrings: true, shared: this.#shared }));
    this.#makeRoom("sessions", this.#sessions, copy.sessionId);
    this.#unindex(this.#sessionsByClient, copy.sessionId, this.#sessions.get(copy.sessionId));
    this.#sessions.set(copy.sessionId, copy);
    this.#wrote("sessions", copy);
    this.#index(this.#sessionsByClient, copy.sessionId, copy);
  }

  getSession(sessionId: string): Promise<Session | undefined> {
    return this.#run(() => this.#live(this.#sessions.get(sessionId)));
  }

  /** The first live one bound there (after an OpenVPN restart a cid may name two). */
  findSessionIdByCid(server: string, cid: number): Promise<string | undefined> {
    return this.#run(() =>
      this.#sessionsByClient.ids(server, cid).find((id) =>
        this.#live(this.#sessions.get(id)) !== undefined
      )
    );
  }

  deleteSession(sessionId: string): Promise<RemovedSession | undefined> {
    return this.#run(() => {
      const session = this.#sessions.get(sessionId);
      if (session === undefined) return undefined;
      this.#unindex(this.#sessionsByClient, sessionId, session);
      this.#sessions.delete(sessionId);
      const { server, cid, openvpnRun, refreshToken } = session;
      const removed: RemovedSession = { server, cid };
      if (openvpnRun !== undefined) removed.openvpnRun = openvpnRun;
      if (refreshToken !== undefined) removed.refreshToken = refreshToken;
      return removed;
    });
  }

  sessionPages(): AsyncGenerator<ListedSession[]> {
    return this.#pages(this.#sessions, listedSession);
  }

  pendingPages(): AsyncGenerator<PendingLogin[]> {
    return this.#pages(this.#pending, (login) => login);
  }

  /**
   * The live entries of `entries`, LIST_CHUNK a turn: a Map's iterator goes on past entries
   * added or deleted meanwhile (one deleted and added again comes again: listed once).
   */
  async *#pages<V extends Expiring, T>(
    entries: Map<string, V>,
    listed: (entry: V) => T,
  ): AsyncGenerator<T[]> {
    const iterator = entries.entries();
    const seen = new Set<string>();
    for (;;) {
      const page = await this.#run(() => {
        const now = this.#now();
        const items: T[] = [];
        for (let next = iterator.next(); !next.done; next = iterator.next()) {
          const [id, entry] = next.value;
          if (entry.expiresAt < now || seen.has(id)) continue;
          seen.add(id);
          items.push(listed(entry));
          if (items.length === LIST_CHUNK) break;
        }
        return items;
      });
      if (page.length > 0) yield page;
      if (page.length < LIST_CHUNK) return;
      await nextTurn();
    }
  }

  countLive(server: string): Promise<LiveCounts> {
    return this.#run(() => {
      const now = this.#now();
      const counts = { sessions: 0, pending: 0 };
      for (const s of this.#sessions.values()) {
        if (s.server === server && s.expiresAt >= now) counts.sessions++;
      }
      for (const p of this.#pending.values()) {
        if (p.server === server && p.expiresAt >= now) counts.pending++;
      }
      return counts;
    });
  }

  listBindings(server: string): Promise<ClientBinding[]> {
    return this.#run(() => {
      const now = this.#now();
      const bindings: ClientBinding[] = [];
      for (const session of this.#sessions.values()) {
        if (session.server === server && session.cid !== undefined && session.expiresAt >= now) {
          const { sessionId, cid, openvpnRun } = session;
          bindings.push(
            openvpnRun === undefined ? { sessionId, cid } : { sessionId, cid, openvpnRun },
          );
        }
      }
      return bindings;
    });
  }

  findSessionsBySid(sid: string): Promise<Session[]> {
    return this.#liveSessions((session) => session.sid === sid);
  }

  /** One scan for them all (SessionStore.liveSids): an index by sid cost Bun ~140 B a session. */
  liveSids(sids: ReadonlySet<string>): Promise<Set<string>> {
    return this.#run(() => {
      const now = this.#now();
      const live = new Set<string>();
      for (const session of this.#sessions.values()) {
        const { sid } = session;
        if (sid !== undefined && session.expiresAt >= now && sids.has(sid)) live.add(sid);
      }
      return live;
    });
  }

  findSessionsBySubject(subject: string): Promise<Session[]> {
    return this.#liveSessions((session) => session.subject === subject);
  }

  findSessionsByUsername(username: string): Promise<Session[]> {
    return this.#liveSessions((session) => session.username === username);
  }

  async sweep(now: number, onSwept?: SweptSessionsHandler): Promise<SweepResult> {
    const pending = await this.#run(() =>
      this.#sweep("pending", this.#pending, this.#pendingByClient, now)
    );
    return { pending, sessions: await this.#sweepSessions(now, onSwept) };
  }

  /**
   * The expired sessions, LIST_CHUNK removed per turn: those that held a refresh token go to
   * `onSwept` as each chunk is removed, and the next chunk waits until it took them, so that a
   * sweep never holds more than a chunk of them. The table's iterator goes on past entries
   * added or deleted meanwhile; writes meanwhile lower the pass's bound (#wrote).
   */
  async #sweepSessions(now: number, onSwept: SweptSessionsHandler | undefined): Promise<number> {
    const before = removableBefore("sessions", now);
    const entries = this.#sessions.entries();
    const pass = { table: "sessions" as const, earliest: Infinity };
    this.#passes.add(pass);
    let removed = 0;
    try {
      for (let done = false; !done;) {
        const swept: SweptSession[] = [];
        done = await this.#run(() => {
          for (let next = entries.next(); !next.done; next = entries.next()) {
            const [id, session] = next.value;
            if (session.expiresAt >= before) {
              pass.earliest = Math.min(pass.earliest, session.expiresAt);
              continue;
            }
            this.#unindex(this.#sessionsByClient, id, session);
            this.#sessions.delete(id);
            removed++;
            if (session.refreshToken !== undefined) swept.push(session as SweptSession);
            if (swept.length === LIST_CHUNK) return false;
          }
          return true;
        });
        if (swept.length > 0) await onSwept?.(swept);
        if (!done) await nextTurn();
      }
      this.#noneExpireBefore.sessions = pass.earliest;
    } finally {
      this.#passes.delete(pass);
    }
    return removed;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#pending.clear();
    this.#sessions.clear();
    this.#pendingByClient.clear();
    this.#sessionsByClient.clear();
    return Promise.resolve();
  }

  /** Runs a synchronous step as a promise, so that errors become rejections as with SQLite. */
  #run<T>(step: () => T): Promise<T> {
    try {
      if (this.#closed) throw storeClosedError("memory");
      return Promise.resolve(step());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // Scans: revocations and admin commands are rare, and this store is for small setups.
  #liveSessions(match: (session: Session) => boolean): Promise<Session[]> {
    return this.#run(() => {
      const now = this.#now();
      return [...this.#sessions.values()].filter((session) =>
        session.expiresAt >= now && match(session)
      );
    });
  }

  #live<T extends Expiring>(entry: T | undefined): T | undefined {
    if (entry === undefined || entry.expiresAt < this.#now()) return undefined;
    return entry;
  }

  /**
   * A new entry into a full table first sweeps it, unless nothing in it can be removed yet
   * (pending_grace.ts) since the last sweep: a flood of CONNECTs into a full table swept the
   * whole table once per refused put. The sessions it removes are not handed on (sweep): their
   * refresh tokens are left to expire at the IdP.
   */
  #makeRoom(table: StoreTable, map: Map<string, Indexed>, key: string): void {
    if (map.has(key) || map.size < this.#maxEntries) return;
    const now = this.#now();
    if (removableBefore(table, now) > this.#noneExpireBefore[table]) {
      const index = table === "pending" ? this.#pendingByClient : this.#sessionsByClient;
      this.#sweep(table, map, index, now);
    }
    if (map.size >= this.#maxEntries) throw this.#full.reject(table, this.#maxEntries);
  }

  /** Every entry written: the bound `#noneExpireBefore` stays one, and so does each pass's. */
  #wrote(table: StoreTable, entry: Expiring): void {
    if (entry.expiresAt < this.#noneExpireBefore[table]) {
      this.#noneExpireBefore[table] = entry.expiresAt;
    }
    for (const pass of this.#passes) {
      if (pass.table === table) pass.earliest = Math.min(pass.earliest, entry.expiresAt);
    }
  }

  #setPending(login: PendingLogin): void {
    this.#unindex(this.#pendingByClient, login.id, this.#pending.get(login.id));
    this.#pending.set(login.id, login);
    this.#wrote("pending", login);
    this.#index(this.#pendingByClient, login.id, login);
  }

  #deletePending(id: string): boolean {
    this.#unindex(this.#pendingByClient, id, this.#pending.get(id));
    return this.#pending.delete(id);
  }

  #index(index: ClientIndex, id: string, entry: Indexed): void {
    if (entry.cid !== undefined) index.add(entry.server, entry.cid, id);
  }

  #unindex(index: ClientIndex, id: string, entry: Indexed | undefined): void {
    if (entry?.cid !== undefined) index.remove(entry.server, entry.cid, id);
  }

  /** Removes what expired before `now`; pending logins only once their grace is over too. */
  #sweep(table: StoreTable, map: Map<string, Indexed>, index: ClientIndex, now: number): number {
    const before = removableBefore(table, now);
    let removed = 0;
    let earliest = Infinity;
    for (const [id, entry] of map) {
      if (entry.expiresAt < before) {
        this.#unindex(index, id, entry);
        map.delete(id);
        removed++;
      } else if (entry.expiresAt < earliest) earliest = entry.expiresAt;
    }
    this.#noneExpireBefore[table] = earliest;
    return removed;
  }
}
