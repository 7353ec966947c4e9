/**
 * A SessionStore in Redis or Valkey, shared by every bridge that points at it. Layout and
 * atomicity: redis_scripts.ts; encoding and encryption: redis_codec.ts; connection and failure
 * model: redis_connection.ts.
 *
 * Expiry: every entry carries a TTL (PX), so Redis drops what nobody removes. A pending login
 * lives PENDING_GRACE_MS past its deadline, so that the deadline's delete still finds it (sweeps
 * and a full store remove it only after that). A session lives SESSION_GRACE_MS longer than its
 * expiry, so that `sweep` (a range read of the expiry index, never a scan of the key space) still
 * finds it and removes its index entries with it (redis_grace.ts: why each, and what that asks of
 * the sweep interval), and hands its refresh token on to be revoked (a key Redis dropped first
 * takes its token with it). Reads treat both as gone from their `expiresAt` on. The size bound counts
 * the expiry index (ZCARD), checked and added to in the same script.
 *
 * Cost: a REAUTH reads its session from Redis, in one script call with the other reads of the
 * same turn (redis_call_batch.ts); a session read again at the version this bridge decoded or
 * wrote comes back without its bytes and is not decoded again (redis_decoded.ts). New pending
 * logins and session writes go in one script call with the others of their turn (a CONNECT
 * storm, a reconnect storm); every other write is one script call.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { checkPendingLogin, checkSession } from "./entry_check.ts";
import {
  decodeAll,
  decodePending,
  decodeSession,
  encodePending,
  encodeSession,
  type StoredFields,
} from "./redis_codec.ts";
import { listedSession, sessionData } from "./session_data.ts";
import { RedisRefusals } from "./redis_refusal.ts";
import { DecodedSessions } from "./redis_decoded.ts";
import { CALL_BATCH, CallBatcher } from "./redis_call_batch.ts";
import { randomToken } from "../random_token.ts";
import { type ScriptName, SCRIPTS, SWEEP_BATCH } from "./redis_scripts.ts";
import { PENDING_GRACE_MS, removableBefore } from "./pending_grace.ts";
import { SESSION_GRACE_MS } from "./redis_grace.ts";
import { CACHE_LIMIT } from "./session_cache.ts";
import { decodeSwept } from "./swept_sessions.ts";
import { BINDINGS_CHUNK, LIST_CHUNK } from "./list_chunk.ts";
import { checkMaxEntries, type StoreBounds, StoreFullReporter } from "./store_full.ts";
import type { TokenCipher } from "./token_cipher.ts";
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
import { storeClosedError } from "./store_closed.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";
import { readRedisInfo } from "./redis_info.ts";
import { checkMemoryPolicy } from "./redis_memory_policy.ts";
import { warnOfPersistence } from "./redis_persistence.ts";
import { classifyRedisError, refusedCredentials } from "./redis_connection.ts";
import { getLogger } from "../log.ts";
import { WARNING_INTERVAL_MS, WarningInterval } from "../warning_interval.ts";
import { RedisClockCheck } from "./redis_clock.ts";
import { errorText } from "../error_text.ts";

const KEY_CHECK = "key_check";
const log = getLogger("sessions");
/** Added to the start's refusal of the credentials when Redis refused a script. */
const SCRIPTING_ACL = "every store call is a Lua script: the ACL user needs +@scripting " +
  "(EVAL, EVALSHA) besides the commands on its keys";
/** The start's advice when Redis refused a script for any other reason. */
const SCRIPTS_NEED = "the store needs Redis 7.0 or later, or Valkey 7.2 or later, reached " +
  "directly (Redis Cluster, proxies and serverless endpoints are not supported)";
const QUIT_WAIT_MS = 1000;
/** How long warmUp holds up the start before the rest of its reads go to the background. */
const WARM_AT_START_MS = 250;
/** A session's version: random, so that no two writes (by any bridge, ever) share one. */
const VERSION_BYTES = 16;
/** `putSessions` of a session whose token was to be kept: Redis holds another version now. */
const TOKEN_NOT_HELD = 2;

export interface RedisStoreOptions extends StoreBounds {
  /** A connected client (redis_connection.ts); the store closes it. */
  client: Redis;
  keyPrefix: string;
  cipher: TokenCipher;
  /** Names the server in errors (no credentials): e.g. `redis://host:6379/0`. */
  description: string;
}

type ScriptCall = (...args: Array<string | Buffer>) => Promise<unknown>;
type Scripts = Record<`${ScriptName}Buffer`, ScriptCall>;
type Flat = Array<Buffer | null>;
/** One pending login as `putPendings` takes it: id, expiresAt, TTL, server, cid, data, secret. */
type PendingArgs = [string, string, string, string, string, string, string | Buffer];
/**
 * One session as `putSessions` takes it: id, expiresAt, TTL, server, cid, subject, has sid,
 * sid, username, data, secret, version, version whose secret to keep, createdAt, update ('1')
 * or put ('0'), version read ('' = not known), run of OpenVPN of the cid ('' = none).
 */
type SessionArgs = [
  ...[string, string, string, string, string, string, string, string, string, string],
  string | Buffer,
  string,
  string,
  string,
  string,
  string,
  string,
];
/**
 * Store calls a lock (`exclusive`) must outlive, each given up to the client's command timeout
 * (`sessions.store_timeout`): Redis starts the lock when it runs the call that takes it, whose
 * answer may take that long to come back, and the work under it (a user's sessions counted,
 * one stored) is two more.
 */
const LOCK_STORE_CALLS = 3;
/** Beyond those calls: the work's own time (decoding, sealing a token), a pause of the process. */
const LOCK_MARGIN_MS = 10_000;
const LOCK_RETRY_MS = 20;
/** Waited for this long at most (the holder counts a user's sessions and stores one). */
const LOCK_ATTEMPTS = 500;
const LOCK_TOKEN_BYTES = 16;
/** `putSessions` of an update whose entry is gone (or another sign-in's). */
const SESSION_GONE = 3;

/** A session as a read found it: no bytes and a version when it is the version asked with. */
interface StoredSession {
  fields: StoredFields;
  /** Null for an absent entry, or one written without a version (by an older bridge). */
  version: string | null;
}

/** The fields of a session Redis did not send: it holds the version this bridge sent. */
const NOT_SENT: StoredFields = [null, null];

/**
 * Entries whose `expiresAt` lies before `now()` are absent to every read even before `sweep`
 * removes them; deletes report what they removed, expired or not.
 */
export class RedisStore implements SessionStore {
  readonly #client: Redis;
  readonly #scripts: Scripts;
  readonly #prefix: string;
  readonly #cipher: TokenCipher;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #full: StoreFullReporter;
  readonly #lockTtlMs: number;
  readonly #decoded = new DecodedSessions();
  readonly #reads = new CallBatcher((ids: string[]) => this.#readSessions(ids));
  readonly #pendingPuts = new CallBatcher((puts: PendingArgs[]) =>
    this.#putTogether("putPendings", puts)
  );
  readonly #sessionPuts = new CallBatcher((puts: SessionArgs[]) =>
    this.#putTogether("putSessions", puts)
  );
  readonly #refusals: RedisRefusals;
  readonly #description: string;
  /** This bridge's key check (TokenCipher.makeKeyCheck), as the start and each sweep put it. */
  readonly #keyCheck: Buffer;
  /** A sweep that finds another key's check says so at most once a minute. */
  readonly #keyMismatchLog: WarningInterval;
  readonly #clockCheck: RedisClockCheck;
  #closed = false;

  private constructor(options: RedisStoreOptions, keyCheck: Buffer) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
    this.#description = options.description;
    this.#keyCheck = keyCheck;
    this.#cipher = options.cipher;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? Date.now;
    this.#full = new StoreFullReporter(this.#now);
    this.#keyMismatchLog = new WarningInterval(WARNING_INTERVAL_MS, this.#now);
    this.#clockCheck = new RedisClockCheck(options.client, this.#now, options.description);
    this.#lockTtlMs = lockTtlMs(options.client.options.commandTimeout);
    this.#refusals = new RedisRefusals(
      options.description,
      options.client.options.username,
      this.#now,
    );
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      this.#client.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.#scripts = this.#client as unknown as Scripts;
  }

  /**
   * Checks that Redis keeps what the store writes (redis_memory_policy.ts), and warns when a
   * crash may undo its deletes (redis_persistence.ts); that the data under
   * this prefix was written with the same key (the first store to open it records a key check,
   * which each sweep puts back: #keepKeyCheck), so that a mismatch fails here instead of on the
   * first refresh; and that Redis runs the store's scripts (one that refuses them opened fine
   * before, then denied every user).
   */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    checkMaxEntries(options.maxEntries);
    const keyCheck = Buffer.from(await options.cipher.makeKeyCheck());
    const store = new RedisStore(options, keyCheck);
    try {
      // Before anything is written: a Redis that evicts loses sessions without a word.
      const info = await readRedisInfo(options.client);
      checkMemoryPolicy(info, options.description);
      warnOfPersistence(info, options.description);
      // An ACL user without the store's keys fails here, named as the connection's start names
      // a refused password (RedisRefusals).
      await store.#checkKey(options.description);
      await store.#checkScripts(options.description);
      store.#refusals.reporting = true;
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  async putPending(login: PendingLogin): Promise<void> {
    this.#assertOpen();
    const copy = checkPendingLogin(login);
    const { data, secret } = await encodePending(copy, this.#cipher);
    const added = await this.#pendingPuts.submit([
      copy.id,
      String(copy.expiresAt),
      String(this.#ttl(copy.expiresAt, PENDING_GRACE_MS)),
      copy.server,
      String(copy.cid),
      data,
      secret,
    ]);
    if (added === 0) throw this.#full.reject("pending", this.#maxEntries);
  }

  async updatePending(login: PendingLogin): Promise<boolean> {
    this.#assertOpen();
    const copy = checkPendingLogin(login);
    const { data, secret } = await encodePending(copy, this.#cipher);
    const updated = await this.#call("updatePending", [
      copy.id,
      String(this.#now()),
      String(copy.expiresAt),
      copy.server,
      String(copy.cid),
      data,
      secret,
      // The OAuth state is sealed: the script compares the browser binding by its hash.
      copy.oauth === undefined ? "" : hashed(copy.oauth.browserBinding),
    ]);
    return updated === 1;
  }

  async getPending(id: string): Promise<PendingLogin | undefined> {
    this.#assertOpen();
    const fields = await this.#read(() => this.#client.hmgetBuffer(this.#key("p:", id), "d", "o"));
    return this.#live(await decodePending(fields as StoredFields, this.#cipher, id));
  }

  /**
   * Redis decides whether the login is live, at one reading of the clock: a login it hands out
   * is removed, so refusing it here after all (a later reading) would leave its deadline's
   * delete nothing to deny.
   */
  async takePending(id: string): Promise<PendingLogin | undefined> {
    this.#assertOpen();
    const fields = await this.#call("takePending", [id, String(this.#now())]);
    if (fields === null) return undefined;
    return await decodePending(fields as StoredFields, this.#cipher, id);
  }

  async deletePending(id: string): Promise<boolean> {
    this.#assertOpen();
    return await this.#call("deletePending", [id]) === 1;
  }

  async deletePendingByCid(server: string, cid: number): Promise<number> {
    this.#assertOpen();
    return Number(await this.#call("deletePendingByCid", [server, String(cid)]));
  }

  pendingPages(): AsyncGenerator<PendingLogin[]> {
    return this.#pages("listPending", decodePending, (login) => login.id);
  }

  /**
   * A lock in Redis, so that bridges sharing it run `work` under `name` one at a time: taken
   * with a set-if-absent that runs out after lockTtlMs (a bridge that died holding it),
   * asked for again every LOCK_RETRY_MS, freed by a compare-and-delete. Its key is the name's
   * hash (a user's IdP subject is any text).
   */
  async exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    const lock = hashed(name);
    const token = randomToken(LOCK_TOKEN_BYTES);
    for (
      let attempt = 0;
      await this.#call("lock", [lock, token, String(this.#lockTtlMs)]) !== 1;
      attempt++
    ) {
      if (attempt >= LOCK_ATTEMPTS) {
        throw new StoreUnavailableError(
          `Session store lock busy for ${(LOCK_ATTEMPTS * LOCK_RETRY_MS) / 1000} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
    try {
      return await work();
    } finally {
      // Not freed (Redis gone meanwhile): it runs out by itself.
      await this.#call("unlock", [lock, token]).catch(() => {});
    }
  }

  async putSession(session: Session): Promise<void> {
    await this.#writeSession(session, false);
  }

  async updateSession(session: Session): Promise<boolean> {
    return await this.#writeSession(session, true) !== SESSION_GONE;
  }

  /**
   * Writes a session, as an update (the entry must still be the one read) or a put. An update
   * sends the version this bridge last read or wrote of it (the caller holds the session's
   * lock, so that is the one it read): written by another bridge since, the entry is not
   * overwritten with what was read before. Not held (an unbound session, one the cache
   * dropped), only its createdAt is compared.
   */
  async #writeSession(session: Session, update: boolean): Promise<number> {
    this.#assertOpen();
    // Own strings, as a decoded session has: a field from OpenVPN may be a slice of a whole
    // block, and this copy is kept once written (below).
    const copy = Object.freeze(checkSession(session, { ownStrings: true }));
    const read = update ? this.#decoded.versionOf(copy.sessionId) : "";
    const readSession = this.#decoded.get(copy.sessionId, read);
    // Held here with the same refresh token (a reconnect, a disconnect): Redis keeps the
    // encrypted token it has if it still holds that version, so it is not sealed and sent again.
    const keepFrom = this.#decoded.versionWithToken(copy.sessionId, copy.refreshToken);
    this.#decoded.delete(copy.sessionId);
    const version = randomToken(VERSION_BYTES);
    const args = (data: string, secret: string | Buffer, keep: string): SessionArgs => [
      copy.sessionId,
      String(copy.expiresAt),
      String(this.#ttl(copy.expiresAt, SESSION_GRACE_MS)),
      copy.server,
      copy.cid === undefined ? "" : String(copy.cid),
      copy.subject,
      copy.sid === undefined ? "0" : "1",
      copy.sid ?? "",
      copy.username,
      data,
      secret,
      version,
      keep,
      String(copy.createdAt),
      update ? "1" : "0",
      read,
      copy.openvpnRun ?? "",
    ];
    let written = keepFrom === ""
      ? TOKEN_NOT_HELD
      : await this.#sessionPuts.submit(args(sessionData(copy), "", keepFrom));
    if (written === TOKEN_NOT_HELD) {
      const { data, secret } = await encodeSession(copy, this.#cipher);
      written = await this.#sessionPuts.submit(args(data, secret, ""));
    }
    if (written === 0) throw this.#full.reject("sessions", this.#maxEntries);
    if (written === SESSION_GONE) {
      // Held again (unless read anew meanwhile), so that the same stale copy is refused again.
      if (readSession !== undefined && this.#decoded.versionOf(copy.sessionId) === "") {
        this.#decoded.remember(copy.sessionId, read, readSession);
      }
      return written;
    }
    // Redis holds this session at `version` now, unless a later write came after (which gives
    // it another): the next read (the reconnected client's REAUTH) then costs no decode.
    this.#decoded.remember(copy.sessionId, version, copy);
    return written;
  }

  /**
   * Writes entries in one call of a batch script (`putPendings`, `putSessions`): 1 for each one
   * written, 0 for each one refused because the store is full.
   */
  async #putTogether(
    script: "putPendings" | "putSessions",
    puts: readonly (PendingArgs | SessionArgs)[],
  ): Promise<number[]> {
    const now = this.#now();
    const args: Array<string | Buffer> = [String(this.#maxEntries), String(now)];
    if (script === "putPendings") args.push(String(removableBefore("pending", now)));
    for (const put of puts) args.push(...put);
    return await this.#call(script, args) as number[];
  }

  async getSession(sessionId: string): Promise<Session | undefined> {
    this.#assertOpen();
    const stored = await this.#reads.submit(sessionId);
    if (stored.fields[0] !== null || stored.version === null) {
      return this.#decode(sessionId, stored);
    }
    // Redis holds the version this bridge decoded (it sent no bytes back).
    const held = this.#decoded.get(sessionId, stored.version);
    if (held !== undefined) return this.#live(held);
    // Dropped here since the read was sent (a put of this bridge, the cache's limit): whole.
    const [whole] = await this.#readSessions([sessionId], false);
    return this.#decode(sessionId, whole!);
  }

  async #decode(
    sessionId: string,
    { fields, version }: StoredSession,
  ): Promise<Session | undefined> {
    const session = await decodeSession(fields, this.#cipher, sessionId);
    if (session === undefined || version === null) this.#decoded.delete(sessionId);
    // Keyed by the entry's own id (the same text, checked): the one asked with is usually a
    // slice of the REAUTH block's chunk, which a key would keep alive (entry_check.ts).
    else this.#decoded.remember(session.sessionId, version, session);
    return this.#live(session);
  }

  /**
   * Reads sessions in one script call; `withHeld`: sends the versions decoded here. Redis
   * answers a session it holds at the version sent with nil alone (redis_scripts.ts).
   */
  async #readSessions(ids: readonly string[], withHeld = true): Promise<StoredSession[]> {
    const args: string[] = [];
    for (const id of ids) args.push(id, withHeld ? this.#decoded.versionOf(id) : "");
    const reply = await this.#call("getSessions", args) as Array<Flat | null>;
    const read: StoredSession[] = [];
    for (let i = 0; i < ids.length; i++) {
      const entry = reply[i];
      if (entry === null) {
        read.push({ fields: NOT_SENT, version: args[2 * i + 1]! });
        continue;
      }
      // Missing (a reply too short): read as absent, so its client is refused, never let in.
      const version = entry?.[2] ?? null;
      read.push({
        fields: [entry?.[0] ?? null, entry?.[1] ?? null],
        version: version === null ? null : version.toString("latin1"),
      });
    }
    return read;
  }

  /**
   * The id alone, from the client's binding: no data sent back, nothing decrypted. An id that
   * UTF-8 cannot carry (a lone surrogate, stored as U+FFFD) comes back changed: then the
   * session's data is read, whose JSON names it exactly.
   */
  async findSessionIdByCid(server: string, cid: number): Promise<string | undefined> {
    this.#assertOpen();
    const args = [server, String(cid), String(this.#now())];
    const id = await this.#call("findSessionIdByCid", [...args, "id"]) as Buffer | null;
    if (id === null) return undefined;
    const text = id.toString("utf8");
    if (!text.includes("\uFFFD")) return text;
    const data = await this.#call("findSessionIdByCid", [...args, "data"]) as Buffer | null;
    return data === null ? undefined : (await decodeSession([data, null], this.#cipher))?.sessionId;
  }

  findSessionsBySid(sid: string): Promise<Session[]> {
    return this.#findInIndex(`si:${sid}`);
  }

  findSessionsBySubject(subject: string): Promise<Session[]> {
    return this.#findInIndex(`su:${subject}`);
  }

  findSessionsByUsername(username: string): Promise<Session[]> {
    return this.#findInIndex(`sn:${username}`);
  }

  async deleteSession(sessionId: string): Promise<RemovedSession | undefined> {
    this.#assertOpen();
    this.#decoded.delete(sessionId);
    const at = await this.#call("deleteSession", [sessionId]) as Flat | null;
    if (at === null) return undefined;
    const [server, cid, openvpnRun] = at.slice(0, 3).map((field) => String(field ?? ""));
    // A cid that is not a client id (content is checked like any input) names no client.
    const bound = cid === "" ? undefined : Number(cid);
    const removed: RemovedSession = {
      server: server!,
      cid: bound !== undefined && Number.isSafeInteger(bound) && bound >= 0 ? bound : undefined,
    };
    if (openvpnRun) removed.openvpnRun = openvpnRun;
    const blob = at[3];
    // Bound to the id removed: an entry copied from another session does not open.
    const token = blob && blob.length > 0
      ? this.#cipher.openRemovedToken(blob, sessionId)
      : undefined;
    if (token !== undefined) removed.refreshToken = token;
    return removed;
  }

  sessionPages(): AsyncGenerator<ListedSession[]> {
    // Data only, no refresh tokens (redis_scripts.ts, LIST_SESSIONS).
    const decode = async (fields: StoredFields, cipher: TokenCipher) => {
      const session = await decodeSession(fields, cipher);
      return session && listedSession(session);
    };
    return this.#pages("listSessions", decode, (session) => session.sessionId);
  }

  /**
   * A page of BINDINGS_CHUNK per script call (redis_scripts.ts), through the bindings index,
   * then through the one bridges wrote before it; each session once.
   */
  async listBindings(server: string): Promise<ClientBinding[]> {
    this.#assertOpen();
    const bySession = new Map<string, ClientBinding>();
    for (const index of ["sc", "sb"]) {
      let cursor = "0";
      do {
        const page = await this.#call("listBindings", [
          server,
          String(this.#now()),
          cursor,
          String(BINDINGS_CHUNK),
          index,
        ]) as Flat;
        cursor = String(page[0]);
        for (let i = 1; i + 2 < page.length; i += 3) {
          const sessionId = String(page[i]);
          const cid = Number(String(page[i + 1]));
          const openvpnRun = String(page[i + 2] ?? "");
          bySession.set(
            sessionId,
            openvpnRun === "" ? { sessionId, cid } : { sessionId, cid, openvpnRun },
          );
        }
      } while (cursor !== "0");
    }
    return [...bySession.values()];
  }

  async countLive(server: string): Promise<LiveCounts> {
    this.#assertOpen();
    const counts = await this.#call("countLive", [server, String(this.#now())]) as number[];
    return { sessions: Number(counts[0]), pending: Number(counts[1]) };
  }

  /**
   * Removes expired entries in batches, so that one call never holds Redis for long: sessions
   * that expired before `now`, pending logins that expired PENDING_GRACE_MS before it. With
   * `onSwept`, each call also returns the sessions it removed that held a refresh token (only
   * to the bridge whose call removed them), handed on before the next call. Puts the key check
   * back first, should Redis have lost it (#keepKeyCheck), and compares this host's clock with
   * Redis's (redis_clock.ts).
   */
  async sweep(now: number, onSwept?: SweptSessionsHandler): Promise<SweepResult> {
    this.#assertOpen();
    await this.#keepKeyCheck();
    await this.#clockCheck.check();
    const result = { pending: 0, sessions: 0 };
    const args = [
      String(now),
      String(removableBefore("pending", now)),
      String(SWEEP_BATCH),
      onSwept === undefined ? "0" : "1",
    ];
    for (;;) {
      const reply = await this.#call("sweep", args) as Flat;
      const [pending, sessions] = reply.slice(0, 2).map(Number) as [number, number];
      result.pending += pending;
      result.sessions += sessions;
      if (onSwept !== undefined && reply.length > 2) {
        const swept = await decodeSwept(
          sweptEntries(reply.slice(2)),
          // Bound to the id removed, as deleteSession's.
          ({ id, fields }) => decodeSession(fields, this.#cipher, id),
        );
        if (swept.length > 0) await onSwept(swept);
      }
      if (pending < SWEEP_BATCH && sessions < SWEEP_BATCH) return result;
    }
  }

  /**
   * After a restart every client renegotiates within the hour, after an OpenVPN restart many at
   * once: the sessions bound to these servers' clients are read and decoded now, so that their
   * REAUTHs find them decoded (each REAUTH still reads its entry from Redis). Waits at most
   * WARM_AT_START_MS, whatever Redis does; the rest is read in the background. Never fails: a
   * read that fails is left for the client that asks to report.
   */
  async warmUp(servers: readonly string[]): Promise<void> {
    const warmed = this.#warm(servers).catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      warmed,
      new Promise((resolve) => (timer = setTimeout(resolve, WARM_AT_START_MS))),
    ]);
    clearTimeout(timer);
  }

  async #warm(servers: readonly string[]): Promise<void> {
    let read = 0;
    for (const server of servers) {
      const ids = (await this.listBindings(server)).map(({ sessionId }) => sessionId);
      for (let from = 0; from < ids.length && read < CACHE_LIMIT; from += CALL_BATCH) {
        if (this.#closed) return;
        const chunk = ids.slice(from, from + CALL_BATCH);
        await Promise.all(chunk.map((id) => this.getSession(id).catch(() => undefined)));
        read += chunk.length;
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#decoded.clear();
    // quit() waits for Redis's answer; when Redis is away that could take a while.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#client.quit().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, QUIT_WAIT_MS))),
    ]);
    clearTimeout(timer);
    this.#client.disconnect();
  }

  /**
   * The whole store in pages of LIST_CHUNK, one script call each (redis_scripts.ts, list_page),
   * so no call holds Redis for long; the next page is read once the caller took this one. An
   * entry whose deadline moved between two pages comes in both: listed once, as first read.
   * Logins come with their encrypted OAuth state, sessions without tokens.
   */
  async *#pages<T>(
    script: "listPending" | "listSessions",
    decode: (fields: StoredFields, cipher: TokenCipher) => Promise<T | undefined>,
    idOf: (entry: T) => string,
  ): AsyncGenerator<T[]> {
    this.#assertOpen();
    const withSecrets = script === "listPending";
    const seen = new Set<string>();
    let cursor: [Buffer | string, Buffer | string] = ["", ""];
    do {
      const page = await this.#call(script, [
        String(this.#now()),
        ...cursor,
        String(LIST_CHUNK),
      ]) as Flat;
      const entries: T[] = [];
      for (const entry of await decodeAll(page.slice(2), decode, this.#cipher, withSecrets)) {
        if (seen.has(idOf(entry))) continue;
        seen.add(idOf(entry));
        entries.push(entry);
      }
      if (entries.length > 0) yield entries;
      cursor = [page[0] ?? "", page[1] ?? ""];
    } while (cursor[1].length > 0);
  }

  async #findInIndex(index: string): Promise<Session[]> {
    this.#assertOpen();
    const flat = await this.#call("findSessionsInIndex", [index, String(this.#now())]) as Flat;
    return await decodeAll(flat, decodeSession, this.#cipher);
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError("redis");
  }

  #key(kind: string, id: string): string {
    return this.#prefix + kind + id;
  }

  #ttl(expiresAt: number, grace: number): number {
    return Math.max(1, Math.ceil(expiresAt - this.#now() + grace));
  }

  #live<T extends { expiresAt: number }>(entry: T | undefined): T | undefined {
    return entry === undefined || entry.expiresAt < this.#now() ? undefined : entry;
  }

  #call(script: ScriptName, args: Array<string | Buffer>): Promise<unknown> {
    return this.#read(() => this.#scripts[`${script}Buffer`](this.#prefix, ...args));
  }

  async #read<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw this.#refusals.classify(error);
    }
  }

  /**
   * Runs one script that reads and writes nothing of note (the live counts of a server name no
   * bridge has): every store call is a script, so a Redis that refuses them (an ACL user without
   * @scripting; a Redis older than 7.0, which cannot read a script's first line; a proxy or a
   * serverless endpoint that refuses scripts naming no key) would deny every user. Redis not
   * answering fails as unreachable, as anywhere else.
   */
  async #checkScripts(description: string): Promise<void> {
    try {
      await this.#scripts.countLiveBuffer(this.#prefix, "", "0");
    } catch (error) {
      const failure = classifyRedisError(error);
      if (failure instanceof StoreUnavailableError) throw failure;
      const refused = refusedCredentials(error, description, this.#client.options.username);
      if (refused !== undefined) {
        throw new Error(`${refused.message}; ${SCRIPTING_ACL}`, { cause: error });
      }
      throw new Error(
        `Session store refused its Lua scripts: ${description}: ${errorText(error)}; ` +
          SCRIPTS_NEED,
        { cause: error },
      );
    }
  }

  async #checkKey(description: string): Promise<void> {
    if (!(await this.#holdsKeyCheck())) {
      throw new Error(
        `Session store key mismatch: ${description} (key prefix ${this.#prefix}) was written ` +
          `with another sessions.encryption_key (or, when that is unset, another http.secret); ` +
          `restore the key, or use another key_prefix or database`,
      );
    }
  }

  /**
   * The start records the key check only when there is none, so a Redis that lost its data (a
   * FLUSHALL, a restart without persistence) let the next bridge to start record its own, even
   * with a wrong key: the bridges with the right one then failed at their next start, and could
   * not read what it wrote meanwhile. Each sweep puts the check back. Here and not in the write
   * scripts: a write would carry the check's bytes and one more command at every sign-in and
   * reconnect, while Redis can only compare ciphertexts, not tell whose key one is; a sweep costs
   * one GET per interval (a read, so it runs at OOM as the sweep does) and, decrypting the check
   * it finds, tells a wrong bridge that got in first, which it reports.
   */
  async #keepKeyCheck(): Promise<void> {
    if (await this.#holdsKeyCheck()) return;
    if (this.#keyMismatchLog.due() === undefined) return;
    log.error(
      "Session store key mismatch: {where} (key prefix {prefix}) holds the key check of another " +
        "sessions.encryption_key (or http.secret), recorded by a bridge started with it while " +
        "Redis held none (a FLUSHALL, a restart without persistence): the bridges on the two " +
        "keys cannot read each other's sessions, and this one will not start again; stop the " +
        "bridge with the other key, give it this one, and delete {prefix}key_check",
      { where: this.#description, prefix: this.#prefix },
    );
  }

  /**
   * Whether the key check under the prefix is this bridge's key, recording it when there is
   * none (NX: one another bridge recorded meanwhile is compared instead). A plain read first:
   * SET is refused at OOM, and the check is nearly always there.
   */
  async #holdsKeyCheck(): Promise<boolean> {
    const key = this.#prefix + KEY_CHECK;
    const stored = await this.#read(() => this.#client.getBuffer(key)) ??
      await this.#read(() => this.#client.setBuffer(key, this.#keyCheck, "NX", "GET"));
    return stored === null || await this.#cipher.matchesKeyCheck(stored);
  }
}

/** The sweep's reply after its counts: id, data and encrypted token of each session handed on. */
function sweptEntries(flat: Flat): Array<{ id: string; fields: StoredFields }> {
  const entries: Array<{ id: string; fields: StoredFields }> = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    entries.push({ id: String(flat[i]), fields: [flat[i + 1] ?? null, flat[i + 2] ?? null] });
  }
  return entries;
}

/**
 * How long a lock (`exclusive`) lives unless freed: past every call its holder may still be
 * waiting for, given the client's command timeout (none: as if 0). Not renewed: a renewal
 * would be one more call to a Redis that is slow to answer.
 */
export function lockTtlMs(commandTimeoutMs: number | undefined): number {
  return LOCK_STORE_CALLS * (commandTimeoutMs ?? 0) + LOCK_MARGIN_MS;
}

/**
 * What Redis keeps of a value it only compares: a login's browser binding (a cookie value), a
 * lock's name (a user's subject).
 */
function hashed(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}
