/**
 * The SQL of the session file, prepared once per connection. A session's `sid`, subject and
 * user name are columns beside its `data` (sqlite_schema.ts), indexed for revocation; every
 * write that can change them sets them from the same session.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { LiveCounts } from "./types.ts";

/**
 * One server's bound sessions after a cursor (server = ?; cid, deadline and rowid > ?, ?, ?;
 * live at ?; LIMIT ?), in the client index's order, so that the index's range skips the unbound
 * ones. Walked by rowid instead, the warm-up read every row of the table: 1.6 s of blocked
 * start-up with 1,000,000 sessions, 10,000 of them bound.
 */
const BOUND_AFTER = "FROM sessions " +
  "WHERE server = ? AND (cid, expires_at, rowid) > (?, ?, ?) AND expires_at >= ? " +
  "ORDER BY cid, expires_at, rowid LIMIT ?";

/** Up to a batch of expired sessions (expired before ?; LIMIT ?). */
const SWEPT_SESSIONS = "FROM sessions WHERE rowid IN " +
  "(SELECT rowid FROM sessions WHERE expires_at < ? LIMIT ?)";

/**
 * One server's live sessions and pending logins (server = ?, live at ?), from the client indexes
 * alone. Run on the store's count worker (sqlite_worker.ts), and here when that fails.
 */
export const LIVE_COUNT_SQL = {
  sessions: "SELECT count(*) AS n FROM sessions WHERE server = ? AND expires_at >= ?",
  pending: "SELECT count(*) AS n FROM pending WHERE server = ? AND expires_at >= ?",
} as const;

export function readLiveCounts(
  countSessions: StatementSync,
  countPending: StatementSync,
  server: string,
  now: number,
): LiveCounts {
  return {
    sessions: Number(countSessions.get(server, now)?.["n"]),
    pending: Number(countPending.get(server, now)?.["n"]),
  };
}

export function prepareStatements(db: DatabaseSync) {
  const prepare = (sql: string): StatementSync => db.prepare(sql);
  return {
    begin: prepare("BEGIN IMMEDIATE"),
    commit: prepare("COMMIT"),
    rollback: prepare("ROLLBACK"),
    insertMeta: prepare("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)"),
    getMeta: prepare("SELECT value FROM meta WHERE key = ?"),
    // An upsert, not INSERT OR REPLACE, as for sessions: a login written again keeps its rowid,
    // so a listing by rowid (pendingPages) that began before still comes to it once.
    putPending: prepare(
      "INSERT INTO pending (id, server, cid, expires_at, data) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (id) DO UPDATE SET server = excluded.server, cid = excluded.cid, " +
        "expires_at = excluded.expires_at, data = excluded.data",
    ),
    insertPending: prepare(
      "INSERT OR IGNORE INTO pending (id, server, cid, expires_at, data) VALUES (?, ?, ?, ?, ?)",
    ),
    /** Only `data`: SQLite then rewrites the row alone, none of the table's three indexes. */
    updatePendingData: prepare(
      "UPDATE pending SET data = ? WHERE id = ? AND server = ? AND cid = ? AND expires_at = ?",
    ),
    getPending: prepare("SELECT data FROM pending WHERE id = ? AND expires_at >= ?"),
    // A login past its deadline is not taken: it is left for the deadline's delete, which denies
    // its client (finding it gone means a callback took it).
    takePending: prepare(
      "DELETE FROM pending WHERE id = ? AND expires_at >= ? RETURNING data, expires_at",
    ),
    takeCachedPending: prepare(
      "DELETE FROM pending WHERE id = ? AND expires_at >= ? RETURNING expires_at",
    ),
    deletePending: prepare("DELETE FROM pending WHERE id = ?"),
    deletePendingByCid: prepare("DELETE FROM pending WHERE server = ? AND cid = ? RETURNING id"),
    pendingExists: prepare("SELECT 1 FROM pending WHERE id = ?"),
    countPending: prepare("SELECT count(*) AS n FROM pending"),
    sweepPendingBatch: prepare(
      "DELETE FROM pending WHERE rowid IN " +
        "(SELECT rowid FROM pending WHERE expires_at < ? LIMIT ?)",
    ),
    // An upsert, not INSERT OR REPLACE: a session written again (a reconnect moving it to a new
    // cid, a re-check) is updated in place, and the primary key's index is left alone, where a
    // replace deleted the row from the table and all six indexes and inserted it again.
    putSession: prepare(
      "INSERT INTO sessions (session_id, server, cid, expires_at, data, refresh_token, sid, " +
        "subject, username) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (session_id) DO UPDATE SET " +
        "server = excluded.server, cid = excluded.cid, expires_at = excluded.expires_at, " +
        "data = excluded.data, refresh_token = excluded.refresh_token, sid = excluded.sid, " +
        "subject = excluded.subject, username = excluded.username",
    ),
    /**
     * A session written again with only its cid and unindexed fields changed (a reconnect, a
     * disconnect; sqlite_store.ts, #writeOneSession): SQLite then rewrites the row and the
     * client index alone, and the sealed refresh token stays as stored.
     */
    moveSession: prepare("UPDATE sessions SET cid = ?, data = ? WHERE session_id = ?"),
    /** Whether a session is still the one a caller read (SessionStore.updateSession). */
    sessionCreatedAt: prepare(
      "SELECT json_extract(data, '$.createdAt') AS created_at FROM sessions " +
        "WHERE session_id = ? AND expires_at >= ?",
    ),
    getSession: prepare(
      "SELECT data, refresh_token FROM sessions WHERE session_id = ? AND expires_at >= ?",
    ),
    listSessionsAfter: prepare(
      "SELECT rowid, data FROM sessions WHERE rowid > ? AND expires_at >= ? " +
        "ORDER BY rowid LIMIT ?",
    ),
    findSessionByCid: prepare(
      "SELECT session_id, data, refresh_token FROM sessions " +
        "WHERE server = ? AND cid = ? AND expires_at >= ? LIMIT 1",
    ),
    // As boundSessionsAfter, without the entries: a chunk of a server's bindings per turn,
    // with the run of OpenVPN each cid belongs to (Session.openvpnRun; NULL when absent, and for
    // a row whose data is not JSON, which a read of it refuses: not the whole listing).
    bindingsAfter: prepare(
      "SELECT rowid, cid, expires_at, session_id, CASE WHEN json_valid(data) THEN " +
        `json_extract(data, '$.openvpnRun') END AS openvpn_run ${BOUND_AFTER}`,
    ),
    boundSessionsAfter: prepare(
      `SELECT rowid, cid, expires_at, session_id, data, refresh_token ${BOUND_AFTER}`,
    ),
    serverAfter: prepare("SELECT server FROM sessions WHERE server > ? ORDER BY server LIMIT 1"),
    dataVersion: prepare("PRAGMA data_version"),
    checkpoint: prepare("PRAGMA wal_checkpoint(PASSIVE)"),
    findSessionsBySid: prepare(
      "SELECT data, refresh_token FROM sessions WHERE sid = ? AND expires_at >= ?",
    ),
    findSessionsBySubject: prepare(
      "SELECT data, refresh_token FROM sessions WHERE subject = ? AND expires_at >= ?",
    ),
    findSessionsByUsername: prepare(
      "SELECT data, refresh_token FROM sessions WHERE username = ? AND expires_at >= ?",
    ),
    listPendingAfter: prepare(
      "SELECT rowid, data FROM pending WHERE rowid > ? AND expires_at >= ? ORDER BY rowid LIMIT ?",
    ),
    // Where its client was bound as it went, and the token it held then
    // (SessionStore.deleteSession; the run as bindingsAfter).
    deleteSession: prepare(
      "DELETE FROM sessions WHERE session_id = ? RETURNING server, cid, CASE WHEN " +
        "json_valid(data) THEN json_extract(data, '$.openvpnRun') END AS openvpn_run, refresh_token",
    ),
    sessionExists: prepare("SELECT 1 FROM sessions WHERE session_id = ?"),
    countSessions: prepare("SELECT count(*) AS n FROM sessions"),
    countLiveSessions: prepare(LIVE_COUNT_SQL.sessions),
    countLivePending: prepare(LIVE_COUNT_SQL.pending),
    sweepSessionsBatch: prepare(`DELETE ${SWEPT_SESSIONS}`),
    /**
     * sweepSessionsBatch for a sweep that hands on the sessions that held a refresh token
     * (SessionStore.sweep): their rows come back; the others' only as a look at their token
     * column, so that a sweep of sessions without tokens costs no more than that.
     */
    sweepSessionsBatchReturning: prepare(
      `DELETE ${SWEPT_SESSIONS} RETURNING session_id, ` +
        "CASE WHEN refresh_token IS NULL THEN NULL ELSE data END AS data, refresh_token",
    ),
  };
}
