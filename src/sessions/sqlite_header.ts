/**
 * What the first 100 bytes of a session file say (sqlite.org/fileformat.html, 1.3), read
 * without SQLite: `check-config --probe` must not open the file (a read-only connection to a
 * WAL database still creates its -shm file, and takes locks next to the running service's),
 * and a start SQLite refused tells a damaged file from another program's by it. The header's
 * bytes are rewritten only by a checkpoint, whole, so a read while the service writes is safe.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = new TextEncoder().encode("SQLite format 3\0");
const HEADER_SIZE = 100;

export type SqliteHeader =
  /** One byte or none: SQLite makes a database of it (its unix VFS counts one byte as empty). */
  | { kind: "empty" }
  /** Not SQLite's magic: another program's file ("file is not a database"). */
  | { kind: "foreign" }
  /** SQLite's magic, the rest refused (SQLite says "file is not a database" too). */
  | { kind: "damaged" }
  /** `userVersion`: PRAGMA user_version, the store's schema version (sqlite_schema.ts). */
  | { kind: "database"; userVersion: number };

export function readSqliteHeader(path: string): SqliteHeader {
  const head = new Uint8Array(HEADER_SIZE);
  const fd = openSync(path, "r");
  let read: number;
  try {
    read = readSync(fd, head, 0, HEADER_SIZE, 0);
  } finally {
    closeSync(fd);
  }
  if (read <= 1) return { kind: "empty" };
  if (read < SQLITE_MAGIC.length || SQLITE_MAGIC.some((byte, i) => head[i] !== byte)) {
    return { kind: "foreign" };
  }
  if (read < HEADER_SIZE || !validHeader(head)) return { kind: "damaged" };
  return { kind: "database", userVersion: new DataView(head.buffer).getInt32(60) };
}

/**
 * The checks SQLite makes of page 1's header before it refuses a file as no database
 * (lockBtree): a page size that is a power of two from 512 to 65536 (1 for 65536), a read
 * version it knows (2 at most), the payload fractions 64, 32 and 32, and at least 480 usable
 * bytes per page after the reserved ones.
 */
function validHeader(head: Uint8Array): boolean {
  const pageSize = (head[16]! << 8) | (head[17]! << 16);
  return (pageSize & (pageSize - 1)) === 0 && pageSize >= 512 && pageSize <= 65536 &&
    head[19]! <= 2 && head[21] === 64 && head[22] === 32 && head[23] === 32 &&
    pageSize - head[20]! >= 480;
}
