/**
 * Under systemd the service's stderr is a stream socket to journald, which stores every line as
 * an entry of priority info (the unit's `SyslogLevel=`) unless the line begins with a syslog
 * level prefix as sd-daemon(3) defines them (`<3>` error ... `<7>` debug): journald then takes
 * that priority and strips the prefix (systemd.exec(5), `SyslogLevelPrefix=`, on by default).
 * Without prefixes `journalctl -p warning` showed nothing, not even errors. A terminal, a file or
 * a pipe to another program must not get them: only a stderr that IS the journal stream does,
 * which systemd tells through `$JOURNAL_STREAM`, the `device:inode` of that stream
 * (systemd.exec(5)). The variable alone is not enough: a child of a service inherits it with
 * its stderr sent elsewhere. No LogTape here: main.ts loads this before the rest of the program.
 */
import { fstatSync } from "node:fs";
import process from "node:process";

/** syslog(3) priorities, as sd-daemon(3)'s SD_CRIT ... SD_DEBUG write them. */
export const PRIORITY = {
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;
export type Priority = typeof PRIORITY[keyof typeof PRIORITY];

/** `device:inode` in decimal, as systemd sets it; anything else names no stream. */
const JOURNAL_STREAM = /^(\d{1,20}):(\d{1,20})$/;

/** The identity of an open file (`fstat`): device and inode, as systemd compares them. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/** Whether `journalStream` (the variable's value) names the open file `stderr`. */
export function isJournalStream(
  journalStream: string | undefined,
  stderr: FileIdentity | undefined,
): boolean {
  const match = journalStream === undefined ? null : JOURNAL_STREAM.exec(journalStream);
  if (match === null || stderr === undefined) return false;
  return BigInt(match[1]!) === stderr.dev && BigInt(match[2]!) === stderr.ino;
}

const STDERR_FD = 2;

/**
 * Whether this process's stderr is the journal stream systemd gave it. A stderr that cannot be
 * looked at (closed) is not: lines without a prefix only lose their priority.
 */
export function stderrIsJournal(
  env: Readonly<Record<string, string | undefined>> = process.env,
  stat: () => FileIdentity = () => fstatSync(STDERR_FD, { bigint: true }),
): boolean {
  const journalStream = env["JOURNAL_STREAM"];
  if (journalStream === undefined) return false;
  let stderr: FileIdentity | undefined;
  try {
    stderr = stat();
  } catch {
    stderr = undefined;
  }
  return isJournalStream(journalStream, stderr);
}

const PREFIXES = ["<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"] as const;

/** The prefix that gives journald a line's priority, e.g. `<3>` for an error. */
export function priorityPrefix(priority: Priority): string {
  return PREFIXES[priority];
}

/**
 * `text` (lines each ending with `\n`, the last may not) with every line prefixed with the
 * priority `priorityOf` gives it.
 */
export function prefixLines(text: string, priorityOf: (line: string) => Priority): string {
  if (text === "") return text;
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const lines = body.split("\n").map((line) => priorityPrefix(priorityOf(line)) + line);
  return lines.join("\n") + (body === text ? "" : "\n");
}

/** How check-config's warnings begin (cli.ts); the CLI's other stderr lines are errors. */
export const WARNING_LINE = "warning: ";

/**
 * What the CLI writes to stderr itself (a config error, a failed start, check-config's
 * warnings), each line with its priority: one beginning with WARNING_LINE is a warning, any
 * other an error.
 */
export function cliStderrLines(text: string): string {
  return prefixLines(
    text,
    (line) => line.startsWith(WARNING_LINE) ? PRIORITY.warning : PRIORITY.err,
  );
}
