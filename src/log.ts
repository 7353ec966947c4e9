/**
 * Logging: LogTape (small, dependency-free, runs on Deno and Bun) writing one line per record
 * to stderr, as text for people or JSON lines for collectors. What looks like a credential is
 * masked first (log_mask.ts), as a second line of defence: code must not log secrets in the
 * first place. A record is always one line, in either format: a logged value cannot forge another
 * record, break or reorder the line in a log viewer, nor pass unseen in it (printable_text.ts).
 * When stderr is journald's stream, each line begins with its syslog priority
 * (journal_stream.ts), so that the journal files it as a warning, an error, ... instead of info.
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger as logtapeLogger,
  getTextFormatter,
  type Logger,
  type LogLevel as RecordLevel,
  type LogRecord,
  resetSync,
  type Sink,
} from "@logtape/logtape";
import process from "node:process";
import { setImmediate } from "node:timers";
import type { LogLevel } from "./config/types.ts";
import { PRIORITY, type Priority, priorityPrefix, stderrIsJournal } from "./journal_stream.ts";
import { maskRecord } from "./log_mask.ts";
import { withWordsInline } from "./log_words.ts";
import { escapeLeftRawByJson, printable } from "./printable_text.ts";
import { writeAllSync } from "./write_all_sync.ts";

export type { Logger };
export { quotedList, words, wordsFor } from "./log_words.ts";

const ROOT = "openvpn-auth-oidc";
/** The audit log's category (src/audit.ts), routed and levelled on its own. */
export const AUDIT_CATEGORY = [ROOT, "audit"];
/**
 * The audit events (src/audit.ts) that kept someone off the network: notices in the journal,
 * above the info of an admission, below the warnings an operator acts on (a sign-in given up
 * or refused by the policy is no fault).
 */
export const AUDIT_REFUSALS = ["denied", "reauth_denied", "recheck_denied"] as const;

/** A logger for one part of the program, e.g. `getLogger("management")`. */
export function getLogger(...category: string[]): Logger {
  return logtapeLogger([ROOT, ...category]);
}

/**
 * Line breaks inside one text record are written as `\n` (and `\r`), every other terminal
 * control as `\xNN`, line separators, bidi controls and zero-width characters as `\uXXXX`
 * (printable). Inspect escapes strings, but writes an Error's message and stack raw: an ESC
 * there (a message from a socket, the IdP, SQLite) reached the terminal as a control.
 */
function oneLine(text: string): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  return printable(body.replace(/\r/g, "\\r").replace(/\n/g, "\\n")) + "\n";
}

/** Printable ASCII without quotes or backslashes: every runtime's inspect only quotes it. */
const PLAIN_TEXT = /^[\x20-\x21\x23-\x26\x28-\x5b\x5d-\x5f\x61-\x7e]*$/;

/**
 * Renders a value of a text record as LogTape's default does (the runtime's inspect), without
 * calling inspect for the values nearly every line holds (names, ids, addresses, cids): inspect
 * was most of an audit line's cost, and a reconnect storm writes one audit line per client.
 * The quote comes from the runtime's own inspect (Deno: double, Node and Bun: single).
 */
export function plainValueRenderer(): (
  value: unknown,
  inspect: (value: unknown) => string,
) => string {
  let quote: string | undefined;
  return (value, inspect) => {
    if (typeof value === "string" && PLAIN_TEXT.test(value)) {
      quote ??= inspect("")[0] ?? "";
      return quote + value + quote;
    }
    if (value === null) return "null";
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
    return inspect(value);
  };
}

/** When a record is written: at once, once the microtasks running now are done, at turn end. */
type Timing = "at-once" | "after-microtasks" | "turn-end";

/**
 * Records of one event-loop turn go out in one write. At level info a CONNECT storm logs a line
 * per client, and on Deno each write to a pipe took ~10 µs of CPU (bench/README.md, "Log lines
 * written per turn"). Warnings, errors and fatals are written at once, after what waits, so the
 * order holds. Audit lines wait only for the microtasks running now: in a reconnect storm the
 * SUCCESS replies of many clients resolve in one go, and a write per admitted client was the
 * largest part of a reconnect's cost; still the event loop reads no socket and runs no timer
 * before they are written (only work already queued in the same run comes first). A crash can
 * lose at most the info and debug lines of its last turn; exits flush first.
 */
class TurnWriter {
  #waiting = "";
  #turnEndScheduled = false;
  #afterMicrotasksScheduled = false;
  readonly #turnEnd = () => {
    this.#turnEndScheduled = false;
    this.flush();
  };
  readonly #afterMicrotasks = () => {
    this.#afterMicrotasksScheduled = false;
    this.flush();
  };

  write(text: string, timing: Timing): void {
    this.#waiting += text;
    // Bounded: a turn that logs more than this writes it in parts.
    if (timing === "at-once" || this.#waiting.length >= MAX_WAITING_CHARS) {
      this.flush();
    } else if (timing === "after-microtasks") {
      if (!this.#afterMicrotasksScheduled) {
        this.#afterMicrotasksScheduled = true;
        queueMicrotask(this.#afterMicrotasks);
      }
    } else if (!this.#turnEndScheduled) {
      this.#turnEndScheduled = true;
      setImmediate(this.#turnEnd);
    }
  }

  flush(): void {
    if (this.#waiting === "") return;
    const text = this.#waiting;
    this.#waiting = "";
    output(text);
  }
}

const MAX_WAITING_CHARS = 64 * 1024;
const STDERR_FD = 2;

/**
 * Not process.stderr.write: on Bun it hands a pipe what fits and keeps the rest in memory,
 * without bound while journald reads late, and process.exit drops it (the last audit lines,
 * the stop). Written whole, as Deno's write does.
 */
function writeStderr(text: string): void {
  writeAllSync(STDERR_FD, text);
}

let output: (text: string) => void = writeStderr;

/**
 * For tests that read what is logged: the lines go to `collect` instead of stderr, until this
 * is called again without one. What waits for the end of its turn goes out first, where it
 * was headed.
 */
export function redirectLogOutput(collect?: (text: string) => void): void {
  stderrLines.flush();
  output = collect ?? writeStderr;
}
const stderrLines = new TurnWriter();
/** Deno runs no `exit` listener when it stops on an uncaught error or rejection; Bun does. */
process.on("exit", () => stderrLines.flush());
globalThis.addEventListener?.("error", () => stderrLines.flush());
globalThis.addEventListener?.("unhandledrejection", () => stderrLines.flush());

/**
 * Writes out the log lines still waiting for the end of this turn: before something else
 * writes to stderr directly, and for tests that read what was logged.
 */
export function flushLogs(): void {
  stderrLines.flush();
}

function isAudit(record: Pick<LogRecord, "category">): boolean {
  return record.category[0] === AUDIT_CATEGORY[0] && record.category[1] === AUDIT_CATEGORY[1];
}

function timingOf(record: LogRecord): Timing {
  if (record.level === "warning" || record.level === "error" || record.level === "fatal") {
    return "at-once";
  }
  return isAudit(record) ? "after-microtasks" : "turn-end";
}

const LEVEL_PRIORITY: Record<RecordLevel, Priority> = {
  trace: PRIORITY.debug,
  debug: PRIORITY.debug,
  info: PRIORITY.info,
  warning: PRIORITY.warning,
  error: PRIORITY.err,
  fatal: PRIORITY.crit,
};
const REFUSALS: ReadonlySet<unknown> = new Set(AUDIT_REFUSALS);

/** The syslog priority journald files a record under: its level's, a refusal's is a notice. */
export function journalPriority(
  record: Pick<LogRecord, "category" | "level" | "properties">,
): Priority {
  if (record.level === "info" && isAudit(record) && REFUSALS.has(record.properties["event"])) {
    return PRIORITY.notice;
  }
  return LEVEL_PRIORITY[record.level];
}

/** The level tag of a text line filed as a notice (journalPriority): LogTape has no such level. */
const NOTICE_TAG = "NTC";

/**
 * The text formatter: each record's level tag (`[INF]`, `[WRN]`, ...), but NOTICE_TAG for one
 * journalPriority files as a notice (an audit refusal), so that the text log says what the
 * journal does; it read `[INF]` beside the journal's notice.
 */
function textFormatter(): (record: LogRecord) => string {
  const value = plainValueRenderer();
  const byLevel = getTextFormatter({ value });
  const notice = getTextFormatter({ value, level: () => NOTICE_TAG });
  return (record) => (journalPriority(record) === PRIORITY.notice ? notice : byLevel)(record);
}

/**
 * Writes each record as one line. `journal`: stderr is journald's stream, so each line begins
 * with its priority (journal_stream.ts), which journald strips: a JSON line stays JSON there.
 */
function stderrSink(format: "text" | "json", journal: boolean): Sink {
  const formatter = format === "json" ? getJsonLinesFormatter() : textFormatter();
  // JSON.stringify leaves DEL, C1, the line separators, the bidi controls and the zero-width
  // characters raw.
  const line = format === "json"
    ? (record: LogRecord) => escapeLeftRawByJson(formatter(record))
    : (record: LogRecord) => oneLine(formatter(record));
  const write = journal
    ? (record: LogRecord) => priorityPrefix(journalPriority(record)) + line(record)
    : line;
  return (record: LogRecord) => {
    const masked = maskRecord(record, format === "json");
    stderrLines.write(write(withWordsInline(masked)), timingOf(record));
  };
}

/**
 * Sets up logging for the process; call once at start-up (tests may call it again). `journal`:
 * whether stderr is journald's stream (tests set it; by default it is looked at here, once per
 * configuration, not per line).
 */
export function configureLogging(
  level: LogLevel,
  format: "text" | "json",
  journal: boolean = stderrIsJournal(),
): void {
  stderrLines.flush();
  resetSync();
  configureSync({
    reset: true,
    sinks: { stderr: stderrSink(format, journal) },
    loggers: [
      { category: [ROOT], lowestLevel: level, sinks: ["stderr"] },
      // Who was let onto the network is recorded whatever the operational log level.
      { category: AUDIT_CATEGORY, lowestLevel: "info", sinks: ["stderr"], parentSinks: "override" },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}
