/** Scratch folders of a bench run, and the copy of a session file filled on tmpfs. */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new folder in the system's temporary folder (on the disk: fsyncs there cost what they do). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A new folder on tmpfs where there is one: 100,000 fsyncs on a disk would take minutes. */
export function tmpfsDir(prefix: string): string {
  return mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), prefix));
}

export function removeDirs(...dirs: string[]): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/** Puts a copy of the SQLite file `from` (with its -wal and -shm) at `to`, replacing any there. */
export function copySqliteFile(from: string, to: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    rmSync(to + suffix, { force: true });
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
  }
}
