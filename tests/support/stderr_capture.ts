/** Collects what the process writes to stderr (the log sink) until `restore()` is called. */
import process from "node:process";
import { flushLogs } from "../../src/log.ts";

export interface StderrCapture {
  /** Everything written so far, split into lines. */
  lines(): string[];
  restore(): void;
}

export function captureStderr(): StderrCapture {
  const chunks: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return true;
  }) as typeof process.stderr.write;
  return {
    lines: () => {
      // Log lines wait for the end of their turn (src/log.ts).
      flushLogs();
      return chunks.join("").split("\n").filter((line) => line !== "");
    },
    restore: () => {
      flushLogs();
      process.stderr.write = original;
    },
  };
}
