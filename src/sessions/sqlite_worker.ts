/**
 * A worker thread of the file store (sqlite_thread.ts): work that would stall the event loop,
 * done on a connection of its own to the session file, opened at the first request and kept.
 * A store starts one for its WAL checkpoints (wal_checkpoint.ts) and one for its live counts
 * (live_counter.ts), so a count never waits for a checkpoint.
 *
 * - `checkpoint`: a PASSIVE checkpoint of the WAL; answers `{ done }`.
 * - `count`: one server's live sessions and pending logins; answers `{ counts }`.
 * - `close`: closes the connection (the store's own must be the last, so that closing it
 *   checkpoints the rest); answers `{ closed }`.
 *
 * Requests are answered in the order they came, each with its `id`, or with `{ error }`.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import { fileIdentity } from "./file_identity.ts";
import type { SqliteFile, SqliteWorkerReply, SqliteWorkerRequest } from "./sqlite_thread.ts";
import { LIVE_COUNT_SQL, readLiveCounts } from "./sqlite_statements.ts";
import { errorText } from "../error_text.ts";

declare const self: {
  onmessage: ((event: MessageEvent<SqliteWorkerRequest>) => void) | null;
  postMessage(message: SqliteWorkerReply): void;
};

/** This worker's connection, opened at the first request; statements prepared at first use. */
let db: DatabaseSync | undefined;
const statements = new Map<string, StatementSync>();

function statement(sql: string): StatementSync {
  let prepared = statements.get(sql);
  if (prepared === undefined) statements.set(sql, prepared = db!.prepare(sql));
  return prepared;
}

self.onmessage = ({ data: request }) => {
  const { id } = request;
  try {
    if (request.op === "close") {
      statements.clear();
      db?.close();
      db = undefined;
      self.postMessage({ id, closed: true });
      return;
    }
    db ??= openFile(request);
    if (request.op === "checkpoint") {
      statement("PRAGMA wal_checkpoint(PASSIVE)").get();
      self.postMessage({ id, done: true });
    } else {
      const { server, now } = request;
      const counts = readLiveCounts(
        statement(LIVE_COUNT_SQL.sessions),
        statement(LIVE_COUNT_SQL.pending),
        server,
        now,
      );
      self.postMessage({ id, counts });
    }
  } catch (error) {
    self.postMessage({ id, error: errorText(error) });
  }
};

/**
 * Opens the store's file, never creating one: a session file removed while the service runs
 * was made again here, empty and mode 0644, and the store went on writing the removed one
 * (sqlite_file_watch.ts tells the operator). A URI with `mode=rw` opens an existing file only,
 * on Deno and Bun alike; a file at the path that is not the one the store opened (replaced) is
 * refused too, so a count or a checkpoint never reads another file.
 */
function openFile({ path, busyTimeoutMs, identity }: SqliteFile): DatabaseSync {
  const uri = pathToFileURL(path);
  uri.search = "mode=rw";
  const opened = new DatabaseSync(uri);
  try {
    if (identity !== undefined && fileIdentity(path) !== identity) {
      throw new Error(`${path} is no longer the file the store opened (removed or replaced)`);
    }
    opened.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    return opened;
  } catch (error) {
    opened.close();
    throw error;
  }
}
