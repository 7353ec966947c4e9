/**
 * Which file a path leads to now: its device and inode, as one string (it crosses to the file
 * store's workers). A file removed (`rm`) or replaced (`mv`, a restore from a backup) while a
 * connection has it open is still read and written through that connection, and what the path
 * leads to then is another file, or none.
 */
import { statSync } from "node:fs";

/** `path`'s device and inode ("dev:ino"; bigint: an inode may not fit a double), or undefined. */
export function fileIdentity(path: string): string | undefined {
  const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stat === undefined ? undefined : `${stat.dev}:${stat.ino}`;
}
