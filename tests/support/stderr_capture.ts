/** Collects what the process writes to stderr (the log sink) until `restore()` is called. */
import { flushLogs, redirectLogOutput } from "../../src/log.ts";

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
