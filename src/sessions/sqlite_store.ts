/**
 * A SessionStore in one SQLite file (`node:sqlite`, available on Deno and Bun). How the file is
 * opened, and what survives a crash, is in sqlite_file.ts.
 *
 * Pending logins and sessions are written in batches (turn_batch.ts): the puts of one event-loop
 * turn share one transaction (a CONNECT storm's logins; the sessions a wave of reconnects binds
 * again); each resolves after its commit, so the durability promise holds for them too. Every
 * other read or write commits the open batch first, so it always sees it.
 *
 * Reads: sessions and pending logins are cached as frozen snapshots (session_cache.ts), so a
 * REAUTH or a login page costs no JSON parsing and no decryption. `PRAGMA data_version` tells
 * when another connection (an admin command) changed the file; the caches are then dropped, so
 * a session revoked there is not served from them after the event-loop turn in which the change
 * was committed (asked once per turn: a REAUTH storm reads dozens of sessions per turn, and
 * asking for each was a large part of a cached read).
 */
import { lockSessionFile, type OwnerLock } from "./sqlite_owner.ts";
import { setImmediate } from "node:timers";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { checkPendingLogin, checkSession, sameBrowserOrUnbound } from "./entry_check.ts";
import { BINDINGS_CHUNK, collectPages, LIST_CHUNK } from "./list_chunk.ts";
import { nextTurn } from "../next_turn.ts";
import { sealPendingData } from "./pending_data.ts";
import { listedSession, sessionData } from "./session_data.ts";
import { checkStoreKey, decodePendingRow, decodeSessionRow, type Row } from "./sqlite_rows.ts";
import { CACHE_LIMIT, frozenPending, PENDING_CACHE_LIMIT, SnapshotCache } from "./session_cache.ts";
import {
  BUSY_TIMEOUT_MS,
  classifySqliteError,
  namingFile,
  openDatabaseFile,
} from "./sqlite_file.ts";
import { prepareStatements, readLiveCounts } from "./sqlite_statements.ts";
import { SqliteRoom } from "./sqlite_room.ts";
import { rolledBack } from "./sqlite_schema.ts";
import { removableBefore } from "./pending_grace.ts";
import { deleteInBatches } from "./sqlite_sweep.ts";
import { decodeSwept } from "./swept_sessions.ts";
import { checkMaxEntries, type StoreBounds, StoreFullError } from "./store_full.ts";
import type { TokenCipher } from "./token_cipher.ts";
import { TurnBatch } from "./turn_batch.ts";
import { LiveCounter } from "./live_counter.ts";
import { WalCheckpointer, type WalProgress, walProgressOf } from "./wal_checkpoint.ts";
import { WalSizeWatch, type WalSizeWatchOptions } from "./wal_size_watch.ts";
import { SessionFileWatch } from "./sqlite_file_watch.ts";
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
  SweptSessionsHandler,
} from "./types.ts";
import { storeClosedError } from "./store_closed.ts";
import { getLogger } from "../log.ts";
import { errorText } from "../error_text.ts";

const log = getLogger("sessions");

/**
 * Bound sessions read into the cache per turn after opening (see #warmBound): about 10 ms on
 * Deno. With 500 a turn, each turn of a warm-up of 100,000 bound sessions took 30-57 ms.
 */
export const WARM_CHUNK = 100;
/** How long opening itself reads bound sessions before the rest goes to the background. */
const WARM_AT_OPEN_MS = 250;

/** The last bound session warmed: its place in the client index `(server, cid, expires_at)`. */
interface BoundCursor {
  server: string;
  cid: number;
  expiresAt: number;
  rowid: number;
}
/**
 * Before every bound session of the first server (no server is named ""): a cid is never
 * negative, and an unbound session's NULL cid fails the comparison.
 */
const FIRST_BOUND: BoundCursor = { server: "", cid: -1, expiresAt: 0, rowid: 0 };

/** A `bindingsAfter` row: its run only when the session records one (Session.openvpnRun). */
function bindingFromRow(row: Row): ClientBinding {
  const sessionId = String(row["session_id"]);
  const cid = Number(row["cid"]);
  const openvpnRun = row["openvpn_run"];
  return typeof openvpnRun === "string" ? { sessionId, cid, openvpnRun } : { sessionId, cid };
}

/**
 * A `deleteSession` row: where the removed session's client was bound, and its refresh token,
 * opened as a read opens it (sqlite_rows.ts) but bound to the id removed: a row copied from
 * another session does not open, so that session's grant is not revoked with this one.
 */
function removedFromRow(row: Row, sessionId: string, cipher: TokenCipher): RemovedSession {
  const server = String(row["server"]);
  const cid = row["cid"] === null ? undefined : Number(row["cid"]);
  const openvpnRun = row["openvpn_run"];
  const removed: RemovedSession = typeof openvpnRun === "string"
    ? { server, cid, openvpnRun }
    : { server, cid };
  const blob = row["refresh_token"];
  const token = blob instanceof Uint8Array ? cipher.openRemovedToken(blob, sessionId) : undefined;
  if (token !== undefined) removed.refreshToken = token;
  return removed;
}

/** The cursor after `last`, a bound session of `server` (client index order). */
function boundCursorAfter(server: string, last: Row): BoundCursor {
  return {
    server,
    cid: Number(last["cid"]),
    expiresAt: Number(last["expires_at"]),
    rowid: Number(last["rowid"]),
  };
}

export interface SqliteStoreOptions extends StoreBounds {
  path: string;
  cipher: TokenCipher;
  /** For tests: the WAL size that asks for a checkpoint between sweeps. */
  walWatch?: WalSizeWatchOptions;
  /** The service's own store: no other service may use the file meanwhile (sqlite_owner.ts). */
  owner?: boolean;
}

interface SealedPending {
  kind: "pending";
  login: PendingLogin;
  data: string;
}

/** Sealed in the transaction that writes it, and only when its row does not hold it already. */
interface SessionPut {
  kind: "session";
  session: Session;
  /** Written only over a live row with the same `createdAt` (updateSession). */
  update?: boolean;
}

/** An update whose session is no longer there: it answers false, not an error. */
class SessionGone extends Error {}

/**
 * The error a put of a batch failed with, returned when it refuses that put alone: the store's
 * own refusal (its table full), before the put wrote anything, so the transaction goes on
 * without it. Anything else (a SQLite error) is thrown and fails the whole batch: after an I/O
 * error or a disk full SQLite has already rolled back the puts before it, and the puts after
 * it would run outside any transaction, each committed at once, while the batch reported them
 * all refused (a login denied whose session is in the file).
 */
function refusedAlone(error: unknown): StoreFullError {
  if (error instanceof StoreFullError) return error;
  throw error;
}

/** The sessions one transaction has written so far, and whether it read the data version. */
interface SessionBatch {
  written: Set<string>;
  versionRead: boolean;
}

/**
 * Entries whose `expiresAt` lies before `now()` are absent to every read even before `sweep`
 * removes them; deletes report what they removed, expired or not.
 */
export class SqliteStore implements SessionStore {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #cipher: TokenCipher;
  readonly #now: () => number;
  readonly #room: SqliteRoom;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #checkpointer: WalCheckpointer;
  readonly #counter: LiveCounter;
  readonly #walWatch: WalSizeWatch;
  readonly #fileWatch: SessionFileWatch;
  /** Whether the last sweep found the session file where it was opened (sqlite_file_watch.ts). */
  #fileInPlace = true;
  readonly #cache = new SnapshotCache<Session>(CACHE_LIMIT);
  readonly #pendingCache = new SnapshotCache<PendingLogin>(PENDING_CACHE_LIMIT);
  #dataVersion = -1;
  /** Whether data_version was asked in this event-loop turn. */
  #versionAsked = false;
  readonly #forgetVersionAsked = () => (this.#versionAsked = false);
  /** Puts of pending logins and sessions, in the order made: one transaction per turn. */
  readonly #writes = new TurnBatch<SealedPending | SessionPut>((items) => this.#write(items));
  #closed = false;
  #ownerLock: OwnerLock | undefined;
  readonly #decodePending = (row: Row, id?: string) => decodePendingRow(row, this.#cipher, id);
  readonly #decodeSession = (row: Row, id?: string) => decodeSessionRow(row, this.#cipher, id);

  private constructor(db: DatabaseSync, options: SqliteStoreOptions) {
    this.#db = db;
    this.#path = options.path;
    this.#cipher = options.cipher;
    this.#now = options.now ?? Date.now;
    this.#sql = prepareStatements(db);
    this.#room = new SqliteRoom(this.#sql, options.maxEntries, this.#now);
    this.#fileWatch = new SessionFileWatch(options.path, { locked: options.owner === true });
    // The workers open this file only, never another at its path, nor one they create.
    const file = {
      path: options.path,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
      identity: this.#fileWatch.identity,
    };
    this.#checkpointer = new WalCheckpointer(file, () => this.#checkpointHere());
    this.#counter = new LiveCounter(
      file,
      (server, now) =>
        readLiveCounts(this.#sql.countLiveSessions, this.#sql.countLivePending, server, now),
    );
    this.#walWatch = new WalSizeWatch(options.path, () => this.#checkpoint(), options.walWatch);
  }

  /**
   * Opens (creating when missing, mode 0600) and migrates the file, then checks that it was
   * written with the same key: a mismatch fails here instead of on the first refresh.
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    checkMaxEntries(options.maxEntries);
    // Before anything is read or migrated: a second service stops here.
    const lock = options.owner ? lockSessionFile(options.path) : undefined;
    let db: DatabaseSync | undefined;
    try {
      db = openDatabaseFile(options.path, options.walWatch?.limitBytes);
      const store = new SqliteStore(db, options);
      store.#ownerLock = lock;
      await checkStoreKey(store.#sql, store.#cipher, options.path);
      store.#warmBound(FIRST_BOUND, 0, performance.now() + WARM_AT_OPEN_MS);
      return store;
    } catch (error) {
      db?.close();
      lock?.release();
      // A read of the key check or of the warm-up failing in SQLite (a damaged file).
      throw namingFile(options.path, error);
    }
  }

  putPending(login: PendingLogin): Promise<void> {
    try {
      this.#assertOpen();
      // Its cache keeps the copy: strings of its own (entry_check.ts, ownString).
      const copy = checkPendingLogin(login, { ownStrings: true });
      const data = sealPendingData(copy, this.#cipher);
      return this.#writes.add({ kind: "pending", login: copy, data });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One transaction; an entry that does not fit (store full) is refused alone, any other error
   * refuses them all, none of them written (refusedAlone), classified as #run's.
   */
  #write(items: readonly (SealedPending | SessionPut)[]): unknown[] {
    this.#assertOpen();
    try {
      const errors = this.#transaction(() => {
        const batch: SessionBatch = { written: new Set(), versionRead: false };
        return items.map((item) =>
          item.kind === "pending" ? this.#writeOnePending(item) : this.#writeOneSession(item, batch)
        );
      });
      // Only what was committed: a failed commit throws before this.
      items.forEach((item, i) => {
        if (errors[i] instanceof SessionGone && item.kind === "session") {
          this.#cache.delete(item.session.sessionId);
        }
        if (errors[i] !== undefined) return;
        if (item.kind === "pending") {
          this.#pendingCache.set(item.login.id, frozenPending(item.login));
        } else {
          this.#cache.set(item.session.sessionId, item.session);
        }
      });
      this.#walWatch.wrote();
      return errors;
    } catch (error) {
      this.#room.recount();
      throw classifySqliteError(this.#path, error);
    }
  }

  /** Writes one login of a batch; returns the error that refused it alone. */
  #writeOnePending({ login, data }: SealedPending): unknown {
    try {
      const row = [login.id, login.server, login.cid, login.expiresAt, data] as const;
      // Nearly every put is a new login (a fresh random id): with room, one statement writes
      // it. Anything else, or a full store, takes the way that checks first.
      if (
        this.#room.hasRoom("pending") &&
        Number(this.#sql.insertPending.run(...row).changes) === 1
      ) {
        this.#room.added("pending");
        return undefined;
      }
      const isNew = this.#room.makeRoom("pending", login.id);
      this.#sql.putPending.run(...row);
      if (isNew) this.#room.added("pending");
      return undefined;
    } catch (error) {
      return refusedAlone(error);
    }
  }

  /**
   * Not batched: each confirm step waits for its answer, and confirms come from browsers, not
   * in storms. The row decides (another process may have taken or deleted it); only the data
   * changes, which leaves the indexes alone.
   */
  updatePending(login: PendingLogin): Promise<boolean> {
    return this.#runWrite(() => {
      const copy = checkPendingLogin(login, { ownStrings: true });
      this.#checkDataVersion();
      const cached = this.#pendingCache.get(copy.id);
      this.#pendingCache.delete(copy.id);
      if (copy.expiresAt < this.#now()) return false;
      // One process per file (several bridges share Redis), and LoginFlow runs the begins of a
      // login one after another: nothing comes in between this read and the write below.
      const row = cached === undefined ? this.#sql.getPending.get(copy.id, this.#now()) : undefined;
      const current = cached ?? (row === undefined ? undefined : this.#decodePending(row, copy.id));
      if (current !== undefined && !sameBrowserOrUnbound(current, copy)) return false;
      const data = sealPendingData(copy, this.#cipher);
      const keys = [copy.id, copy.server, copy.cid, copy.expiresAt] as const;
      if (Number(this.#sql.updatePendingData.run(data, ...keys).changes) !== 1) return false;
      this.#pendingCache.set(copy.id, frozenPending(copy));
      return true;
    });
  }

  getPending(id: string): Promise<PendingLogin | undefined> {
    return this.#run(() => {
      this.#checkDataVersion();
      const cached = this.#pendingCache.get(id);
      if (cached !== undefined) return cached.expiresAt >= this.#now() ? cached : undefined;
      const row = this.#sql.getPending.get(id, this.#now());
      if (row === undefined) return undefined;
      const login = frozenPending(this.#decodePending(row, id));
      this.#pendingCache.set(login.id, login);
      return login;
    });
  }

  /**
   * The row decides who takes the login; its data is decoded only when the cache does not
   * hold it (a callback's view() just read it), as reads are.
   */
  takePending(id: string): Promise<PendingLogin | undefined> {
    return this.#runWrite(() => {
      this.#checkDataVersion();
      const cached = this.#pendingCache.get(id);
      this.#pendingCache.delete(id);
      // One statement: of two concurrent takers (even in two processes) only one gets the row,
      // and only while it is live.
      const take = cached ? this.#sql.takeCachedPending : this.#sql.takePending;
      const row = take.get(id, this.#now());
      if (row === undefined) return undefined;
      this.#room.removed("pending", 1);
      return cached ?? Object.freeze(this.#decodePending(row, id));
    });
  }

  deletePending(id: string): Promise<boolean> {
    return this.#runWrite(() => {
      this.#pendingCache.delete(id);
      const deleted = Number(this.#sql.deletePending.run(id).changes);
      this.#room.removed("pending", deleted);
      return deleted > 0;
    });
  }

  deletePendingByCid(server: string, cid: number): Promise<number> {
    return this.#runWrite(() => {
      const deleted = this.#sql.deletePendingByCid.all(server, cid);
      for (const row of deleted) this.#pendingCache.delete(String(row["id"]));
      this.#room.removed("pending", deleted.length);
      return deleted.length;
    });
  }

  /** One bridge's file (several bridges share sessions through Redis): nobody else runs work. */
  exclusive<T>(_name: string, work: () => Promise<T>): Promise<T> {
    return work();
  }

  putSession(session: Session): Promise<void> {
    try {
      this.#assertOpen();
      const copy = Object.freeze(checkSession(session, { ownStrings: true }));
      return this.#writes.add({ kind: "session", session: copy });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Batched as puts are; the row is checked in the transaction that writes it. */
  updateSession(session: Session): Promise<boolean> {
    try {
      this.#assertOpen();
      const copy = Object.freeze(checkSession(session, { ownStrings: true }));
      return this.#writes.add({ kind: "session", session: copy, update: true }).then(
        () => true,
        (error) => {
          if (error instanceof SessionGone) return false;
          throw error;
        },
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes one session of a batch; returns the error that refused it alone. A session written
   * again with only its cid and unindexed fields changed (a reconnect, a disconnect) updates
   * just those and keeps its sealed refresh token: sealing it anew and the index entries were
   * most of such a write's CPU (bench/README.md, B5).
   */
  #writeOneSession({ session, update }: SessionPut, batch: SessionBatch): unknown {
    try {
      const id = session.sessionId;
      if (update && !this.#stillThere(session, batch)) {
        return new SessionGone(`Session ${id} is no longer there`);
      }
      const data = sessionData(session);
      const cid = session.cid ?? null;
      if (
        this.#onlyMoved(session, batch) &&
        Number(this.#sql.moveSession.run(cid, data, id).changes) === 1
      ) {
        return undefined;
      }
      const token = session.refreshToken === undefined
        ? null
        : this.#cipher.sealToken(session.refreshToken, id);
      const isNew = this.#room.makeRoom("sessions", id);
      this.#sql.putSession.run(
        id,
        session.server,
        cid,
        session.expiresAt,
        data,
        token,
        session.sid ?? null,
        session.subject,
        session.username,
      );
      if (isNew) this.#room.added("sessions");
      return undefined;
    } catch (error) {
      return refusedAlone(error);
    }
  }

  /**
   * Whether the row `session` was read from is still there (live, the same sign-in). The cache
   * answers when it holds the row as committed: it is cleared when another connection commits
   * (the data version, read once per batch) and follows this one's writes, except one made
   * earlier in this batch, which only the row shows. Nearly every update (a DISCONNECT's unbind,
   * a reconnect's rebind) is of a cached session.
   */
  #stillThere(session: Session, batch: SessionBatch): boolean {
    const now = this.#now();
    const cached = this.#committedCopy(session.sessionId, batch);
    if (cached !== undefined) {
      return cached.createdAt === session.createdAt && cached.expiresAt >= now;
    }
    const row = this.#sql.sessionCreatedAt.get(session.sessionId, now);
    return row !== undefined && Number(row["created_at"]) === session.createdAt;
  }

  /**
   * The session as its row holds it, from the cache; undefined when not cached or when a put
   * earlier in this batch wrote the row. Under the write lock the data version is read once per
   * batch: a commit of another connection since the cache was filled clears it here, so a
   * session still cached is still what its row holds.
   */
  #committedCopy(id: string, batch: SessionBatch): Session | undefined {
    if (batch.written.has(id) || !this.#cache.has(id)) return undefined;
    if (!batch.versionRead) {
      batch.versionRead = true;
      this.#readDataVersion();
    }
    return this.#cache.get(id);
  }

  /**
   * Whether the row of `session` differs from it in cid and unindexed fields only: the cache
   * has the session as the row holds it (read from it, or written to it, since the data version
   * last changed) with the same refresh token, server, deadline, sid, subject and user name,
   * and no earlier put of this batch has written the row.
   */
  #onlyMoved(session: Session, batch: SessionBatch): boolean {
    const row = this.#committedCopy(session.sessionId, batch);
    batch.written.add(session.sessionId);
    return row !== undefined && row.refreshToken === session.refreshToken &&
      row.server === session.server && row.expiresAt === session.expiresAt &&
      row.sid === session.sid && row.subject === session.subject &&
      row.username === session.username;
  }

  getSession(sessionId: string): Promise<Session | undefined> {
    return this.#run(() => this.#readSession(sessionId));
  }

  /**
   * The id as the session's own JSON names it: the key column does not hold every id exactly
   * (sqlite_rows.ts). Usually from the cache; else the row is decoded as the lists do.
   */
  findSessionIdByCid(server: string, cid: number): Promise<string | undefined> {
    return this.#run(() => {
      this.#checkDataVersion();
      const row = this.#sql.findSessionByCid.get(server, cid, this.#now());
      if (row === undefined) return undefined;
      const sessionId = String(row["session_id"]);
      const cached = this.#cache.get(sessionId);
      if (cached?.server === server && cached.cid === cid) return cached.sessionId;
      const session = this.#decodeSession(row);
      if (session.sessionId === sessionId) this.#cache.set(sessionId, session);
      return session.sessionId;
    });
  }

  /**
   * After a restart every client renegotiates within the hour, many at once: sessions bound to
   * a client are read into the cache so that the first REAUTH storm finds them decoded
   * (decoding a session costs about as much as answering its REAUTH). Opening reads them until
   * `until` (a time budget: with tens of thousands bound, start-up must not wait for all),
   * the rest follow in the background, WARM_CHUNK per turn. Stops at the cache limit, at close
   * and at a read that fails in the background (#warmInBackground).
   */
  #warmBound(after: BoundCursor, warmed = 0, until = 0): void {
    let cursor: BoundCursor | undefined = after;
    let count = warmed;
    do {
      if (this.#closed || count >= CACHE_LIMIT) return;
      this.#readDataVersion();
      const { server, cid, expiresAt, rowid } = cursor;
      const rows = this.#sql.boundSessionsAfter.all(
        server,
        cid,
        expiresAt,
        rowid,
        this.#now(),
        WARM_CHUNK,
      );
      for (const row of rows) {
        const sessionId = String(row["session_id"]);
        if (this.#cache.has(sessionId)) continue;
        try {
          // Refused, so not cached: a copied row, or an id the key column does not hold exactly.
          this.#cache.set(sessionId, this.#decodeSession(row, sessionId));
        } catch {
          // An unreadable row is reported when a client asks for it, not here.
        }
      }
      count += rows.length;
      cursor = this.#nextBound(server, rows);
    } while (cursor !== undefined && performance.now() < until);
    if (cursor !== undefined) setImmediate(() => this.#warmInBackground(cursor, count));
  }

  /**
   * A chunk of the warm-up after opening: no caller gets its error, and one thrown from an
   * immediate would end the service. A read failing in SQLite there (a damaged page, a disk
   * error) ends only the warm-up: the cache fills as clients ask, and each asking read reports
   * the error to its caller.
   */
  #warmInBackground(after: BoundCursor, warmed: number): void {
    try {
      this.#warmBound(after, warmed);
    } catch (error) {
      log.warning("Session cache warm-up stopped, sessions are read when asked for: {error}", {
        error: errorText(error),
      });
    }
  }

  /** Where the warm-up goes on after a chunk of `server`: the next row, or the next server. */
  #nextBound(server: string, rows: Row[]): BoundCursor | undefined {
    if (rows.length === WARM_CHUNK) return boundCursorAfter(server, rows[rows.length - 1]!);
    const next = this.#sql.serverAfter.get(server)?.["server"];
    return typeof next === "string" ? { ...FIRST_BOUND, server: next } : undefined;
  }

  deleteSession(sessionId: string): Promise<RemovedSession | undefined> {
    return this.#runWrite(() => {
      this.#cache.delete(sessionId);
      const row = this.#sql.deleteSession.get(sessionId);
      if (row === undefined) return undefined;
      this.#room.removed("sessions", 1);
      return removedFromRow(row, sessionId, this.#cipher);
    });
  }

  /**
   * The lists check no id (why: sqlite_rows.ts); reads by id do. In chunks, a turn each: not one
   * snapshot, so an entry written meanwhile may or may not show.
   */
  sessionPages(): AsyncGenerator<ListedSession[]> {
    // No refresh_token column read: nothing to decrypt (types.ts, ListedSession).
    return this.#pagesByRowid(
      this.#sql.listSessionsAfter,
      (row) => listedSession(this.#decodeSession(row)),
    );
  }

  /** Live sessions a `(key, now)` query selects. */
  #decodeAll(query: StatementSync, key: string): Promise<Session[]> {
    return this.#run(() => query.all(key, this.#now()).map((row) => this.#decodeSession(row)));
  }

  /** On a worker thread (live_counter.ts): a count walks all of a server's index entries. */
  countLive(server: string): Promise<LiveCounts> {
    return this.#run(() => this.#now()).then((now) => this.#counter.count(server, now));
  }

  /** BINDINGS_CHUNK per event-loop turn (list_chunk.ts), through the client index. */
  listBindings(server: string): Promise<ClientBinding[]> {
    return collectPages(this.#pages(
      BINDINGS_CHUNK,
      { ...FIRST_BOUND, server },
      ({ cid, expiresAt, rowid }, now) =>
        this.#sql.bindingsAfter.all(server, cid, expiresAt, rowid, now, BINDINGS_CHUNK),
      (last) => boundCursorAfter(server, last),
      bindingFromRow,
    ));
  }

  findSessionsBySid(sid: string): Promise<Session[]> {
    return this.#decodeAll(this.#sql.findSessionsBySid, sid);
  }

  findSessionsBySubject(subject: string): Promise<Session[]> {
    return this.#decodeAll(this.#sql.findSessionsBySubject, subject);
  }

  findSessionsByUsername(username: string): Promise<Session[]> {
    return this.#decodeAll(this.#sql.findSessionsByUsername, username);
  }

  pendingPages(): AsyncGenerator<PendingLogin[]> {
    return this.#pagesByRowid(
      this.#sql.listPendingAfter,
      (row) => Object.freeze(this.#decodePending(row)),
    );
  }

  /** Live entries of a `(after rowid, now, limit)` query in rowid order, LIST_CHUNK per turn. */
  #pagesByRowid<T>(query: StatementSync, decode: (row: Row) => T): AsyncGenerator<T[]> {
    return this.#pages(
      LIST_CHUNK,
      0,
      (after, now) => query.all(after, now, LIST_CHUNK),
      (last) => Number(last["rowid"]),
      decode,
    );
  }

  /**
   * Every row `read` returns, a chunk of `size` per event-loop turn (list_chunk.ts), a page per
   * chunk; the next chunk is read once the caller took this one. `read(after, now)` reads the
   * chunk after the cursor `after`, and `cursorAfter` makes the next cursor from a full chunk's
   * last row.
   */
  async *#pages<C, T>(
    size: number,
    first: C,
    read: (after: C, now: number) => Row[],
    cursorAfter: (last: Row) => C,
    decode: (row: Row) => T,
  ): AsyncGenerator<T[]> {
    let after = first;
    for (;;) {
      const rows = await this.#run(() => read(after, this.#now()));
      if (rows.length > 0) yield rows.map(decode);
      if (rows.length < size) return;
      after = cursorAfter(rows[rows.length - 1]!);
      await nextTurn();
    }
  }

  /**
   * Expired rows go in batches (sqlite_sweep.ts), pending logins only once their grace is over
   * too (pending_grace.ts); the WAL checkpoint runs on a worker. With `onSwept`, each batch of
   * sessions comes back from its DELETE, and those that held a refresh token are decoded (after
   * the commit) and handed on before the next batch is removed.
   */
  async sweep(now: number, onSwept?: SweptSessionsHandler): Promise<SweepResult> {
    const { sweepPendingBatch, sweepSessionsBatch, sweepSessionsBatchReturning } = this.#sql;
    /** One transaction removing a batch of `table`: `remove` counts the rows or returns them. */
    const removeBatch = <R extends number | Row[]>(
      table: StoreTable,
      remove: (before: number) => R,
    ) =>
      this.#runWrite(() => {
        const removed = this.#transaction(() => remove(removableBefore(table, now)));
        this.#room.removed(table, typeof removed === "number" ? removed : removed.length);
        return removed;
      });
    const counted = (table: StoreTable, batch: StatementSync) =>
      deleteInBatches((limit) =>
        removeBatch(table, (before) => Number(batch.run(before, limit).changes))
      );
    const handedOn = (handler: SweptSessionsHandler) =>
      deleteInBatches(async (limit) => {
        const rows = await removeBatch(
          "sessions",
          (before) => sweepSessionsBatchReturning.all(before, limit),
        );
        // Bound to the id removed, as deleteSession's (removedFromRow).
        const swept = await decodeSwept(
          rows.filter((row) => row["refresh_token"] instanceof Uint8Array),
          (row) => this.#decodeSession(row, String(row["session_id"])),
        );
        if (swept.length > 0) await handler(swept);
        return rows.length;
      });
    const result = {
      pending: await counted("pending", sweepPendingBatch),
      sessions: onSwept === undefined
        ? await counted("sessions", sweepSessionsBatch)
        : await handedOn(onSwept),
    };
    await this.#run(() => {
      this.#cache.dropExpired(now);
      this.#pendingCache.dropExpired(now);
      this.#room.settle();
    });
    this.#fileInPlace = this.#fileWatch.check();
    await this.#checkpoint();
    return result;
  }

  /**
   * The WAL checkpoint of a sweep or of the WAL's size (wal_size_watch.ts). On this thread once
   * the file is gone from its path: no worker can open it any more (sqlite_worker.ts), and the
   * WAL of the file this connection still writes must not grow without bound.
   */
  #checkpoint(): Promise<WalProgress | void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#fileInPlace) return this.#run(() => this.#checkpointHere());
    return this.#checkpointer.checkpoint();
  }

  /**
   * A checkpoint on this thread (wal_checkpoint.ts), its failure told as #run's are: a full disk
   * or a disk error as StoreUnavailableError (the sweeper's warning), anything else naming the
   * file. SQLite's error alone was logged at every sweep as an error, with a stack and no path.
   */
  #checkpointHere(): WalProgress | undefined {
    try {
      return walProgressOf(this.#sql.checkpoint.get());
    } catch (error) {
      throw namingFile(this.#path, classifySqliteError(this.#path, error));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#writes.flush();
    this.#closed = true;
    this.#cache.clear();
    this.#pendingCache.clear();
    // Closing the last connection checkpoints the rest: the workers' close first (unless one is
    // stuck past its wait: then its connection outlives this one, and so does the rest of the WAL).
    await Promise.all([this.#checkpointer.close(), this.#counter.close()]);
    this.#db.close();
    this.#ownerLock?.release();
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError("sqlite");
  }

  /**
   * Runs a synchronous step as a promise, so that errors become rejections: a file SQLite cannot
   * use for the moment (locked, full, read-only) as StoreUnavailableError, as #write's.
   */
  #run<T>(step: () => T): Promise<T> {
    try {
      this.#assertOpen();
      this.#writes.flush();
      return Promise.resolve(step());
    } catch (error) {
      return Promise.reject(classifySqliteError(this.#path, error));
    }
  }

  /** #run for a step that writes: the WAL's size is looked at after it (wal_size_watch.ts). */
  #runWrite<T>(step: () => T): Promise<T> {
    const done = this.#run(step);
    this.#walWatch.wrote();
    return done;
  }

  #transaction<T>(step: () => T): T {
    this.#sql.begin.run();
    try {
      const result = step();
      this.#sql.commit.run();
      return result;
    } catch (error) {
      // The error that made it fail, not a failed ROLLBACK (rolledBack, sqlite_schema.ts).
      throw rolledBack(this.#db, error, () => this.#sql.rollback.run());
    }
  }

  /** `#readDataVersion` at most once per event-loop turn (see the header). */
  #checkDataVersion(): void {
    if (this.#versionAsked) return;
    this.#versionAsked = true;
    setImmediate(this.#forgetVersionAsked);
    this.#readDataVersion();
  }

  /** Another connection committed since we last looked: our cached sessions may be stale. */
  #readDataVersion(): void {
    const version = Number(this.#sql.dataVersion.get()?.["data_version"]);
    if (version !== this.#dataVersion) {
      this.#cache.clear();
      this.#pendingCache.clear();
      this.#dataVersion = version;
    }
  }

  /** Synchronous from the data version check to caching, so a cached row is still current. */
  #readSession(sessionId: string): Session | undefined {
    this.#checkDataVersion();
    const cached = this.#cache.get(sessionId);
    if (cached !== undefined) return cached.expiresAt >= this.#now() ? cached : undefined;
    const row = this.#sql.getSession.get(sessionId, this.#now());
    if (row === undefined) return undefined;
    const session = this.#decodeSession(row, sessionId);
    // Keyed by the row's own id (the same text, checked): the one asked with is usually a slice
    // of the REAUTH block's chunk, which a cache key would keep alive (entry_check.ts, ownString).
    this.#cache.set(session.sessionId, session);
    return session;
  }
}
