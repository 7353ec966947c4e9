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

let db: DatabaseSync | undefined;
let checkpoint: StatementSync | undefined;

self.onmessage = ({ data: request }) => {
  try {
    if (request.op === "close") {
      db?.close();
      db = undefined;
      self.postMessage({ closed: true });
      return;
    }
    if (db === undefined) {
      db = new DatabaseSync(request.path);
      db.exec(`PRAGMA busy_timeout = ${request.busyTimeoutMs}`);
      checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    }
    checkpoint!.get();
    self.postMessage({ done: true });
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
