/** Collects what the process writes to stderr (the log sink) until `restore()` is called. */
import { configureLogging, flushLogs, redirectLogOutput } from "../../src/log.ts";

export interface StderrCapture {
  /** Everything written so far, split into lines. */
  lines(): string[];
  restore(): void;
}

export function captureStderr(): StderrCapture {
  const chunks: string[] = [];
  redirectLogOutput((text) => chunks.push(text));
  return {
    lines: () => {
      // Log lines wait for the end of their turn (src/log.ts).
      flushLogs();
      return chunks.join("").split("\n").filter((line) => line !== "");
    },
    restore: () => redirectLogOutput(),
  };
}

/**
 * The lines `log` writes through the real sink (masking, formatter, journal prefixes) with
 * logging configured at debug in `format`; `journal`: as if stderr were journald's stream.
 */
export function linesLogged(format: "text" | "json", journal: boolean, log: () => void): string[] {
  configureLogging("debug", format, journal);
  const capture = captureStderr();
  try {
    log();
    return capture.lines();
  } finally {
    capture.restore();
    configureLogging("warning", "text", false);
  }
}

/** linesLogged of work that goes on over turns (timers, I/O): journal off. */
export async function linesLoggedBy(
  format: "text" | "json",
  work: () => Promise<unknown>,
): Promise<string[]> {
  configureLogging("debug", format, false);
  const capture = captureStderr();
  try {
    await work();
    return capture.lines();
  } finally {
    capture.restore();
    configureLogging("warning", "text", false);
  }
}

/** A text line's message: what follows its time, level and category. */
export function lineBody(line: string): string {
  return line.replace(/^.*?\] [^:]*: /, "");
}
