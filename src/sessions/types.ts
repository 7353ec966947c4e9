/**
 * What the bridge keeps between a management event and the browser's callback (a pending
 * login) and between renegotiations (a session). Stores are asynchronous and must not assume a
 * single process: the Redis/Valkey store serves several bridges, and an admin command reads the
 * file store while the service runs.
 */

/** The OIDC request state bound to a pending login once the user continues to the IdP. */
export interface PendingOAuth {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Random value also held in the browser's cookie; binds the callback to that browser. */
  browserBinding: string;
}

export interface PendingLogin {
  /** Unguessable id (>= 128 bits, base64url) used in the login URL. */
  id: string;
  /** Which OpenVPN server the client came through (one bridge may serve several). */
  server: string;
  cid: number;
  kid: number;
  commonName: string;
  /** The username the VPN client sent (empty for certificate-only clients). */
  username: string;
  clientIp: string;
  clientPort: number;
  platform: string;
  clientVersion: string;
  /** OpenVPN's `session_id`, the key of the session this login creates. */
  sessionId: string;
  createdAt: number;
  expiresAt: number;
  oauth: PendingOAuth | undefined;
  /**
   * True when the CONNECT that began this sign-in presented OpenVPN's token (its session had
   * ended: revoked, logged out, expired at the IdP): the client uses tokens, so the session
   * this login creates outlives a disconnect (login_session.ts). Absent otherwise, and in logins
   * stored before it was recorded.
   */
  presentedToken?: boolean;
  /**
   * True when the CONNECT's own `IV_VER` names a client known to present the token OpenVPN
   * issues it (client_version.ts). Read from `IV_VER` as sent, not from `clientVersion`, which
   * keeps only what the confirm page may show: OpenVPN for Android's "2.7_master" or
   * openvpn3-linux's "v3.10.1" are not shown, yet their clients present the token. Absent
   * otherwise, and in logins stored before it was recorded.
   */
  presentsIssuedToken?: boolean;
  /**
   * True when the CONNECT's `session_state` does not say its `session_id` is OpenVPN's own
   * (sessionIdUnverified, decide.ts): `Invalid`, its token failed OpenVPN's check, and OpenVPN
   * before 2.6.21 and 2.7.5 (CVE-2026-13122) still took `session_id` from that token, so the
   * client chose it. Such a sign-in never replaces another user's session (admission.ts).
   * Absent otherwise, and in logins stored before it was recorded.
   */
  sessionIdUnverified?: boolean;
  /**
   * The run of OpenVPN the client came through (management/openvpn_run.ts): its cid and kid
   * name this client only in that run. Absent when OpenVPN did not tell it, and in logins
   * stored before it was recorded: such a login is ended at the next link-up.
   */
  openvpnRun?: string;
}

/**
 * A session as listings return it: without its refresh token, which a listing never decrypts
 * (an admin's list shows none, and decrypting them was 70% of a listing's CPU). Not a Session:
 * it cannot be written back by mistake without its token.
 */
export type ListedSession = Omit<Session, "refreshToken">;

export interface Session {
  /** OpenVPN's `session_id` (stable across renegotiations of one client session). */
  sessionId: string;
  server: string;
  /** The client id the session is bound to now; undefined while the client is disconnected. */
  cid: number | undefined;
  /**
   * The run of OpenVPN `cid` belongs to (management/openvpn_run.ts): a restarted OpenVPN
   * numbers its clients from 0 again, so the cid names this session's client only in that run.
   * Set with the cid when OpenVPN told its run, absent with it. Absent in sessions stored by
   * older versions: their binding is judged by the cid alone. (Undefined clears it: stores
   * keep no undefined field.)
   */
  openvpnRun?: string | undefined;
  commonName: string;
  username: string;
  groups: string[];
  roles: string[];
  /** The claims the authorization policy reads, kept to re-apply it. */
  claims: Record<string, unknown>;
  subject: string;
  /** The IdP's SSO session id (`sid`), for back-channel logout. */
  sid: string | undefined;
  /**
   * The VPN client's public address at sign-in, or at its latest reconnect or renegotiation from
   * another one (absent in sessions stored by older versions).
   */
  clientIp?: string;
  /** Plain refresh token in memory; stores encrypt it at rest. */
  refreshToken: string | undefined;
  /** When the refresh token expires, when the IdP said so (`refresh_expires_in`). */
  refreshExpiresAt: number | undefined;
  /**
   * True when the client can reconnect with an OpenVPN auth token (`auth-gen-token`): it has
   * presented one, or it will (login_session.ts says which clients do from sign-in on). Such a
   * session outlives a disconnect; one that was never resumable ends (and its refresh token is
   * revoked) when the client disconnects.
   */
  resumable: boolean;
  createdAt: number;
  lastAuthAt: number;
  expiresAt: number;
}

/** The two tables every store keeps, bounded separately. */
export type StoreTable = "pending" | "sessions";

export interface LiveCounts {
  sessions: number;
  pending: number;
}

export interface SweepResult {
  pending: number;
  sessions: number;
}

/**
 * What a removed session held as it was removed (SessionStore.deleteSession): where its client
 * was bound, and its refresh token, decrypted. An IdP that rotates refresh tokens has made the
 * caller's copy dead once another refresh (another bridge instance, the re-check) stored a new
 * one, and the token to revoke is the new one. No `refreshToken` when the entry held none, or
 * its token could not be decrypted (a row copied from another session's: not this one's).
 */
export type RemovedSession = Pick<Session, "server" | "cid" | "openvpnRun"> & {
  refreshToken?: string;
};

/**
 * A session a sweep removed past its end that held a refresh token (SessionStore.sweep): the
 * session as it was, its token decrypted as deleteSession's is, bound to the id removed (a row
 * copied from another session's is not this one's, and is not handed on).
 */
export type SweptSession = Session & { refreshToken: string };

/**
 * Takes one batch of the sessions a sweep removed that held a refresh token; the sweep goes on
 * to its next batch once this resolves, so that however many expired, it holds one batch at a
 * time. Rejecting ends the sweep with that error (its removed batches stay removed).
 */
export type SweptSessionsHandler = (sessions: readonly SweptSession[]) => Promise<void>;

/** A session's binding to a connected client, for reconciling with OpenVPN's client list. */
export interface ClientBinding {
  sessionId: string;
  cid: number;
  /** The run of OpenVPN the cid belongs to (Session.openvpnRun); absent when not recorded. */
  openvpnRun?: string;
}

/**
 * Entries returned by a store are shared, read-only snapshots (frozen at the top; nested lists
 * and claims are not frozen one by one, since freezing them cost Bun ~1.3 KB per session, but
 * the memory store shares those that many sessions hold alike and freezes that one copy): build
 * a changed entry with spread and put it back.
 */
export interface SessionStore {
  putPending(login: PendingLogin): Promise<void>;
  /**
   * Writes a pending login again (its OIDC state) only if that login is still there: the same
   * id, server, cid and deadline, live, not taken, and not begun in another browser (a stored
   * OIDC state with another `browserBinding`; the same browser may begin again). Says whether
   * it was written; a login deleted meanwhile (its client went away) is not brought back, and of
   * two browsers pressing Continue at once, even on two instances sharing the store, one wins.
   */
  updatePending(login: PendingLogin): Promise<boolean>;
  getPending(id: string): Promise<PendingLogin | undefined>;
  /**
   * Removes and returns the pending login: exactly one caller gets it (single use). One past its
   * deadline is neither returned nor removed: its deadline's deletePending denies the client.
   */
  takePending(id: string): Promise<PendingLogin | undefined>;
  /**
   * Removes a pending login, expired or not; says whether it was there (not yet taken). Nothing
   * else removes one within PENDING_GRACE_MS of its deadline, neither a sweep nor a put into a
   * full table (pending_grace.ts), so that its deadline's delete, coming late, still finds it.
   */
  deletePending(id: string): Promise<boolean>;
  /** Removes every pending login of a client id (the client went away). */
  deletePendingByCid(server: string, cid: number): Promise<number>;

  /**
   * Runs `work` while no other process sharing this store runs work under the same `name`
   * (`sessions.max_per_user`: one sign-in of a user at a time counts and stores, on every
   * bridge instance). A store only one process uses runs it at once; the caller serialises
   * within the process.
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T>;

  putSession(session: Session): Promise<void>;
  /**
   * Writes a session read from the store again (rebound, refreshed, unbound) only if it is
   * still there: a live entry with its id and `createdAt`. Says whether it was. One ended
   * meanwhile (revoked, logged out, ended by another bridge instance sharing the store) is not
   * brought back, nor is a newer sign-in under the same id overwritten. A store shared by
   * several processes (Redis) also answers false when another one wrote the session since this
   * one read it; the caller reads it again and applies its change to that (Admission).
   */
  updateSession(session: Session): Promise<boolean>;
  getSession(sessionId: string): Promise<Session | undefined>;
  /**
   * The id of the live session bound to a client id of a server, if any (at DISCONNECT; the
   * caller reads the session by it under its lock). An id, not the session: Redis then sends
   * and decrypts nothing.
   */
  findSessionIdByCid(server: string, cid: number): Promise<string | undefined>;
  /**
   * Removes a session; undefined when it was not there. Says where its client was bound when it
   * was removed, and the refresh token it held then: in a store several bridges share (Redis),
   * another one may have rebound it to a new cid (a reconnect it admitted), or rotated its
   * token, after the caller read it; that client is the one to disconnect and that token the
   * one to revoke (session_end.ts).
   */
  deleteSession(sessionId: string): Promise<RemovedSession | undefined>;
  /**
   * Every live session, without its refresh token, page by page as the store reads them (each
   * session once; list_chunk.ts): the caller hands each page on before the next is read, so a
   * listing of 1,000,000 sessions never holds them all (the control socket's `sessions list`).
   * `collectPages` gathers them for a caller that wants them all.
   */
  sessionPages(): AsyncGenerator<ListedSession[]>;
  /**
   * The live sessions of a server that are bound to a cid (cheap: no tokens decrypted). Read in
   * chunks (list_chunk.ts), so a binding made or moved meanwhile may or may not show.
   */
  listBindings(server: string): Promise<ClientBinding[]>;
  /** The live sessions of one IdP SSO session (back-channel logout by `sid`). */
  findSessionsBySid(sid: string): Promise<Session[]>;
  /** The live sessions of one IdP subject (`sub`), on every server. */
  findSessionsBySubject(subject: string): Promise<Session[]>;
  /** The live sessions whose user name is exactly `username`. */
  findSessionsByUsername(username: string): Promise<Session[]>;
  /**
   * Every live pending login, page by page as sessionPages (each once): the control socket's
   * `logins list`, and the sign-ins a new holder of a server's link takes over.
   */
  pendingPages(): AsyncGenerator<PendingLogin[]>;

  /** How many live sessions and pending logins a server has (metrics, read at scrape time). */
  countLive(server: string): Promise<LiveCounts>;

  /**
   * Optional, called once at start: read what the REAUTHs of these servers' bound clients will
   * need, waiting a bounded time (a store that does this when it opens, or keeps nothing, has none).
   */
  warmUp?(servers: readonly string[]): Promise<void>;

  /**
   * Optional: which of these IdP sessions (`sid`) a live session still has, in one look. A store
   * that can only scan for a sid (the memory store) answers a whole sweep batch's revocations
   * with one scan, not one per session; without it, each is asked with findSessionsBySid.
   */
  liveSids?: ((sids: ReadonlySet<string>) => Promise<Set<string>>) | undefined;

  /**
   * Deletes sessions that expired before `now` (ms), and pending logins that expired
   * PENDING_GRACE_MS (a minute) before it, so that a late deadline, or another bridge's clock
   * running ahead, still finds its login (pending_grace.ts). `onSwept` is handed the sessions it
   * removed that held a refresh token, batch by batch as they are removed (each once, also
   * among bridges sharing the store), for their tokens to be revoked (session_end.ts); sessions
   * without one are not handed on, and cost the sweep no more than that look. Not handed on
   * (their tokens left to expire at the IdP): the expired sessions a put into a full table
   * removes to make room, and in Redis those whose keys ran out (SESSION_GRACE_MS after their
   * expiry) before any bridge swept them.
   */
  sweep(now: number, onSwept?: SweptSessionsHandler): Promise<SweepResult>;
  close(): Promise<void>;
}
