/**
 * Worker thread of WalCheckpointer: PASSIVE checkpoints of the session file's WAL on a
 * connection of its own, kept open between sweeps. Answers each `checkpoint` with `{ done }`
 * or `{ error }`, and `close` with `{ closed }` once its connection is closed (the store's own
 * connection must be the last, so that closing it checkpoints the rest).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";

type Request = { op: "checkpoint"; path: string; busyTimeoutMs: number } | { op: "close" };

declare const self: {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown): void;
};

/** This worker's connection and its checkpoint statement, opened at the first request. */
let open: { db: DatabaseSync; checkpoint: StatementSync } | undefined;

self.onmessage = ({ data: request }) => {
  try {
    if (request.op === "close") {
      open?.db.close();
      open = undefined;
      self.postMessage({ closed: true });
      return;
    }
    open ??= openFile(request.path, request.busyTimeoutMs);
    open.checkpoint.get();
    self.postMessage({ done: true });
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};

function openFile(path: string, busyTimeoutMs: number) {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    return { db, checkpoint: db.prepare("PRAGMA wal_checkpoint(PASSIVE)") };
  } catch (error) {
    db.close();
    throw error;
  }
}
